-- Revoking any token ends a Google account's whole grant to us (migration 20261125005000): a
-- grant replaced by another account's is queued for revocation (the same account's is not),
-- google_calendar_linked_accounts tells which accounts a row still holds, a disconnect cancels
-- the user's pending links, and keep-alive claims skip the users a pass already tried.
-- Everything runs in one transaction and is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(11);

create function pg_temp.jwe(p_tag text) returns text
language sql immutable as $$
  select translate(rtrim(encode(convert_to('{"alg":"dir","enc":"A256GCM","kid":"k1"}', 'UTF8'), 'base64'), '='), '+/', '-_')
    || '..aXY.' || p_tag || '.dGFn'
$$;

insert into auth.users (id, email) values
  ('5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a', 'shared-a@example.test'),
  ('5b5b5b5b-5b5b-45b5-85b5-5b5b5b5b5b5b', 'shared-b@example.test');

create function pg_temp.save(p_user uuid, p_tag text, p_sub text) returns jsonb
language sql as $$
  select public.google_calendar_save_grant(p_user, pg_temp.jwe('YWNj'), pg_temp.jwe(p_tag), null,
    now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'],
    p_sub, p_sub || '@gmail.test', false)
$$;

set local role service_role;
select pg_temp.save('5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a', 'b2xk', 'sub-old');
select pg_temp.save('5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a', 'bmV3', 'sub-new');
select results_eq(
  $$ select google_sub, cause, refresh_token = pg_temp.jwe('b2xk') from public.google_calendar_revocations
     where user_id = '5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a' $$,
  $$ values ('sub-old', 'replaced', true) $$,
  'Reconnecting to another Google account queues the replaced refresh token for revocation.'
);
select pg_temp.save('5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a', 'YWdu', 'sub-new');
select is(
  (select count(*)::int from public.google_calendar_revocations
    where user_id = '5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a'),
  1,
  'The same account again queues nothing: revoking its old token would end the new grant.'
);

select pg_temp.save('5b5b5b5b-5b5b-45b5-85b5-5b5b5b5b5b5b', 'YmJi', 'sub-new');
select set_eq(
  $$ select public.google_calendar_linked_accounts(array['sub-new', 'sub-old', 'sub-none'], null) $$,
  array['sub-new'],
  'linked_accounts names the accounts some row holds now.'
);
select set_eq(
  $$ select public.google_calendar_linked_accounts(array['sub-new'],
       '5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a') $$,
  array['sub-new'],
  'Another user still holds it.'
);
select is_empty(
  $$ select public.google_calendar_linked_accounts(array['sub-old'],
       '5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a') $$,
  'Nobody else holds the replaced account.'
);
reset role;
select ok(
  not has_function_privilege('anon', 'public.google_calendar_linked_accounts(text[], uuid)', 'execute')
    and not has_function_privilege('authenticated', 'public.google_calendar_linked_accounts(text[], uuid)', 'execute')
    and has_function_privilege('service_role', 'public.google_calendar_linked_accounts(text[], uuid)', 'execute'),
  'linked_accounts is for the service role only.'
);

-- A disconnect cancels pending links; another kind of delete leaves them.
insert into public.google_oauth_pending_flows (jti, user_id, code_verifier, expires_at) values
  (gen_random_uuid(), '5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a', 'v', now() + interval '10 minutes'),
  (gen_random_uuid(), '5b5b5b5b-5b5b-45b5-85b5-5b5b5b5b5b5b', 'v', now() + interval '10 minutes');
set local role service_role;
select ok(
  public.google_calendar_delete_grant('5b5b5b5b-5b5b-45b5-85b5-5b5b5b5b5b5b', null,
    'reconnect_required', 'google_reconnect_required', false, false, false),
  'A reconnect_required delete deletes the grant…'
);
select is(
  (select count(*)::int from public.google_oauth_pending_flows
    where user_id = '5b5b5b5b-5b5b-45b5-85b5-5b5b5b5b5b5b'),
  1,
  '…and leaves the pending link (the bot is about to send a new one anyway).'
);
select public.google_calendar_delete_grant('5b5b5b5b-5b5b-45b5-85b5-5b5b5b5b5b5b', null,
  'disconnect', null, false, true, false);
select is(
  (select count(*)::int from public.google_oauth_pending_flows
    where user_id = '5b5b5b5b-5b5b-45b5-85b5-5b5b5b5b5b5b'),
  0,
  'A disconnect cancels the pending link, even with no grant stored.'
);

-- Keep-alive: the users a pass already tried are not claimed again.
reset role;
update public.google_calendar_tokens set refresh_token_used_at = now() - interval '40 days'
where user_id = '5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a';
set local role service_role;
select is_empty(
  $$ select user_id from public.google_maintenance_claim_keepalive(now() - interval '30 days', 10,
       gen_random_uuid(), 45, array['5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a'::uuid])
     where user_id = '5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a' $$,
  'A user in p_exclude is not claimed.'
);
select results_eq(
  $$ select user_id from public.google_maintenance_claim_keepalive(now() - interval '30 days', 10,
       gen_random_uuid(), 45, '{}')
     where user_id = '5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a' $$,
  $$ values ('5a5a5a5a-5a5a-45a5-85a5-5a5a5a5a5a5a'::uuid) $$,
  'Without it, the due row is claimed.'
);

select * from finish();
rollback;
