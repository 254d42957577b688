-- Cross-Account Protection (migration 20261206004000): google_risc_apply_event acts on every
-- grant of a Google account in one transaction with its webhook events, refuses a jti seen
-- before, purges old ids, and only the service role may call it.
-- Everything runs in one transaction and is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(21);

create function pg_temp.jwe(p_tag text) returns text
language sql immutable as $$
  select translate(rtrim(encode(convert_to('{"alg":"dir","enc":"A256GCM","kid":"k1"}', 'UTF8'), 'base64'), '='), '+/', '-_')
    || '..aXY.' || p_tag || '.dGFn'
$$;

insert into auth.users (id, email) values
  ('a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a1', 'risc-a@example.test'),
  ('a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a2', 'risc-b@example.test'),
  ('a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a3', 'risc-c@example.test'),
  ('a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a4', 'risc-d@example.test');

create function pg_temp.save(p_user uuid, p_sub text) returns jsonb
language sql as $$
  select public.google_calendar_save_grant(p_user, pg_temp.jwe('YWNj'), pg_temp.jwe('cmVm'), null,
    now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'],
    p_sub, p_sub || '@gmail.test', true)
$$;

create function pg_temp.apply(p_jti text, p_actions jsonb) returns jsonb
language sql as $$
  select public.google_risc_apply_event(p_jti, array['urn:test'], p_actions, 345600, true)
$$;

create function pg_temp.events(p_user uuid) returns text[]
language sql as $$
  select coalesce(array_agg(type order by seq), '{}') from public.google_calendar_webhook_events
  where user_id = p_user
$$;

-- ---------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------
select ok(
  (select relrowsecurity from pg_class where oid = 'public.google_risc_seen_events'::regclass),
  'RLS is enabled on the seen-jti table.'
);
select ok(
  not has_table_privilege('anon', 'public.google_risc_seen_events', 'select, insert, update, delete')
    and not has_table_privilege('authenticated', 'public.google_risc_seen_events', 'select, insert, update, delete'),
  'anon and authenticated hold no privilege on the seen-jti table.'
);
select ok(
  not has_function_privilege('anon', 'public.google_risc_apply_event(text, text[], jsonb, integer, boolean)', 'execute')
    and not has_function_privilege('authenticated', 'public.google_risc_apply_event(text, text[], jsonb, integer, boolean)', 'execute')
    and has_function_privilege('service_role', 'public.google_risc_apply_event(text, text[], jsonb, integer, boolean)', 'execute'),
  'Only the service role may apply a security event.'
);

set local role service_role;
select pg_temp.save('a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a1', 'risc-shared');
select pg_temp.save('a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a2', 'risc-shared');
select pg_temp.save('a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a3', 'risc-other');
select pg_temp.save('a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a4', 'risc-hijacked');

-- ---------------------------------------------------------------------------
-- notice: grants kept, one security_notice per user of the account
-- ---------------------------------------------------------------------------
select is(
  jsonb_array_length(pg_temp.apply('jti-notice',
    '[{"action":"notice","google_sub":"risc-shared","reason":"google_sessions_revoked"}]') -> 'users'),
  2,
  'A notice reaches both users of the shared account.'
);
select is(
  (select count(*)::int from public.google_calendar_tokens where google_sub = 'risc-shared'),
  2,
  'A notice keeps the grants.'
);
select results_eq(
  $$ select payload -> 'data' from public.google_calendar_webhook_events
     where type = 'google_calendar.security_notice' and payload -> 'data' ->> 'google_sub' = 'risc-shared'
     order by user_id $$,
  $$ values
     ('{"user_id":"a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a1","google_sub":"risc-shared","google_email":"risc-shared@gmail.test","reason":"google_sessions_revoked"}'::jsonb),
     ('{"user_id":"a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a2","google_sub":"risc-shared","google_email":"risc-shared@gmail.test","reason":"google_sessions_revoked"}'::jsonb) $$,
  'Each security_notice names the user, the account and the reason.'
);

-- ---------------------------------------------------------------------------
-- revoke: every grant of the account deleted, reconnect_required, nothing to revoke
-- ---------------------------------------------------------------------------
select is(
  pg_temp.apply('jti-revoke',
    '[{"action":"revoke","google_sub":"risc-shared","reason":"google_tokens_revoked"}]') -> 'duplicate',
  'false'::jsonb,
  'A new jti is applied.'
);
select is(
  (select count(*)::int from public.google_calendar_tokens where google_sub = 'risc-shared'),
  0,
  'revoke deletes every grant of the account.'
);
select is(
  pg_temp.events('a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a2'),
  array['google_calendar.connected', 'google_calendar.security_notice',
        'google_calendar.reconnect_required', 'google_calendar.disconnected'],
  'Each user gets reconnect_required then disconnected, in the same transaction.'
);
select is(
  (select array_agg(distinct payload -> 'data' ->> 'reason') from public.google_calendar_webhook_events
    where type = 'google_calendar.reconnect_required' and payload -> 'data' ->> 'google_email' = 'risc-shared@gmail.test'),
  array['google_tokens_revoked'],
  'reconnect_required carries reason google_tokens_revoked.'
);
select is(
  (select array_agg(distinct (payload -> 'data' ->> 'revoked_at_google')) from public.google_calendar_webhook_events
    where type = 'google_calendar.disconnected' and payload -> 'data' ->> 'google_email' = 'risc-shared@gmail.test'),
  array['true'],
  'disconnected says Google revoked the grant.'
);
select is(
  (select count(*)::int from public.google_calendar_revocations where google_sub = 'risc-shared'),
  0,
  'Nothing is queued for revocation: Google already revoked the tokens.'
);
select is(
  (select count(*)::int from public.google_calendar_tokens where google_sub = 'risc-other'),
  1,
  'Another account is untouched.'
);

-- ---------------------------------------------------------------------------
-- A replayed jti changes nothing
-- ---------------------------------------------------------------------------
select pg_temp.save('a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a1', 'risc-shared');
select is(
  pg_temp.apply('jti-revoke',
    '[{"action":"revoke","google_sub":"risc-shared","reason":"google_tokens_revoked"}]'),
  '{"duplicate": true, "users": []}'::jsonb,
  'A jti seen before is a duplicate.'
);
select is(
  (select count(*)::int from public.google_calendar_tokens where google_sub = 'risc-shared'),
  1,
  'The duplicate deleted nothing.'
);

-- ---------------------------------------------------------------------------
-- disable: deleted, Google's reason on reconnect_required, revocation queued
-- ---------------------------------------------------------------------------
select pg_temp.apply('jti-disable',
  '[{"action":"disable","google_sub":"risc-hijacked","reason":"google_account_disabled","google_reason":"hijacking"}]');
select is(
  (select payload -> 'data' from public.google_calendar_webhook_events
    where user_id = 'a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a4' and type = 'google_calendar.reconnect_required'),
  '{"user_id":"a0a0a0a0-a0a0-4a0a-8a0a-a0a0a0a0a0a4","google_email":"risc-hijacked@gmail.test","reason":"google_account_disabled","google_reason":"hijacking"}'::jsonb,
  'account-disabled: reconnect_required carries our reason and Google''s.'
);
select is(
  (select count(*)::int from public.google_calendar_revocations where google_sub = 'risc-hijacked'),
  1,
  'account-disabled queues our refresh token for revocation.'
);

-- ---------------------------------------------------------------------------
-- none: only the jti; bad input refused; old ids purged
-- ---------------------------------------------------------------------------
select is(
  pg_temp.apply('jti-verification', '[{"action":"none","google_sub":null,"reason":"verification"}]'),
  '{"duplicate": false, "users": []}'::jsonb,
  'A verification (action none) only records its jti.'
);
select throws_ok(
  $$ select pg_temp.apply('', '[]') $$,
  '22023', null,
  'An empty jti is refused.'
);
select throws_ok(
  $$ select pg_temp.apply('jti-bad', '[{"action":"explode","google_sub":"risc-other"}]') $$,
  '22023', null,
  'An unknown action is refused, and its jti is not kept.'
);
reset role;
insert into public.google_risc_seen_events (jti, received_at) values ('jti-ancient', now() - interval '30 days');
set local role service_role;
select public.google_risc_apply_event('jti-purge', '{}', '[]', 60, true);
select is(
  (select array_agg(jti order by jti) from public.google_risc_seen_events where jti in ('jti-ancient', 'jti-bad', 'jti-purge')),
  array['jti-purge'],
  'Ids older than the retention are purged by the next call.'
);

select * from finish();
rollback;
