-- Lifecycle events (issue 12): written by triggers and RPCs in the transaction of the change,
-- for every path; nothing when webhooks are off; claimed per user in order, settled only by the
-- lease holder, backed off, dead-lettered and purged.
-- Everything runs in one transaction and is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(60);

create function pg_temp.events(p_user uuid) returns setof public.google_calendar_webhook_events
language sql as $$
  select * from public.google_calendar_webhook_events where user_id = p_user order by seq
$$;

create function pg_temp.last_event(p_user uuid) returns jsonb
language sql as $$
  select payload from public.google_calendar_webhook_events where user_id = p_user
  order by seq desc limit 1
$$;

insert into auth.users (id, email) values
  ('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'w-a@example.test'),
  ('b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2', 'w-b@example.test'),
  ('c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3', 'w-c@example.test'),
  ('d4d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4', 'w-d@example.test'),
  ('e5e5e5e5-e5e5-4e5e-8e5e-e5e5e5e5e5e5', 'w-e@example.test'),
  ('f6f6f6f6-f6f6-4f6f-8f6f-f6f6f6f6f6f6', 'w-f@example.test');

-- ---------------------------------------------------------------------------
-- Privileges: service only
-- ---------------------------------------------------------------------------
select ok(
  (select bool_and(c.relrowsecurity) from pg_class c
    where c.oid in ('public.google_calendar_webhook_events'::regclass,
                    'public.google_calendar_webhook_settings'::regclass,
                    'public.google_calendar_revocations'::regclass)),
  'RLS is enabled on the outbox, the settings row and the revocation queue.'
);
select is(
  (select count(*)::int from pg_policies
    where tablename in ('google_calendar_webhook_events', 'google_calendar_webhook_settings', 'google_calendar_revocations')),
  0,
  'None of them has a policy: only service_role (bypassrls) reaches them.'
);
select ok(
  not has_table_privilege('anon', 'public.google_calendar_webhook_events', 'select, insert, update, delete')
    and not has_table_privilege('authenticated', 'public.google_calendar_webhook_events', 'select, insert, update, delete')
    and not has_table_privilege('anon', 'public.google_calendar_webhook_settings', 'select, insert, update, delete')
    and not has_table_privilege('authenticated', 'public.google_calendar_webhook_settings', 'select, insert, update, delete')
    and not has_table_privilege('anon', 'public.google_calendar_revocations', 'select, insert, update, delete')
    and not has_table_privilege('authenticated', 'public.google_calendar_revocations', 'select, insert, update, delete')
    and not has_table_privilege('anon', 'public.google_calendar_webhook_backlog', 'select')
    and not has_table_privilege('authenticated', 'public.google_calendar_webhook_backlog', 'select'),
  'anon and authenticated hold no privilege on the outbox, settings, queue or backlog view.'
);
select is(
  (select array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text)
     from pg_proc p
    where p.pronamespace = 'public'::regnamespace
      and (p.proname like 'google\_%')
      and (has_function_privilege('anon', p.oid, 'execute')
           or has_function_privilege('authenticated', p.oid, 'execute'))),
  null,
  'No google_* function in public is executable by anon or authenticated.'
);
select is(
  (select array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text)
     from pg_proc p
    where p.pronamespace = 'public'::regnamespace
      and p.proname like 'google\_%'
      and not (coalesce(p.proconfig, '{}') @> array['search_path=""'])),
  null,
  'Every google_* function pins search_path to the empty string.'
);
select is(
  (select array_agg(p.proname::text order by p.proname::text)
     from pg_proc p
    where p.pronamespace = 'public'::regnamespace and p.proname like 'google\_%' and p.prosecdef),
  array['google_calendar_tokens_deleted', 'google_calendar_tokens_stop_channels', 'google_calendar_webhook_wake', 'google_oauth_begin_flow'],
  'Only the functions that read auth.users, run in its cascade, or wake delivery from Vault are security definer.'
);

-- ---------------------------------------------------------------------------
-- Webhooks off: nothing is written, by any path
-- ---------------------------------------------------------------------------
set local role service_role;
select is(
  public.google_calendar_save_grant('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'acc-a', 'ref-a', null,
    now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'],
    'sub-a', 'a@gmail.test', false) -> 'saved',
  'true'::jsonb,
  'save_grant stores a grant with webhooks off.'
);
reset role;
select is(
  (select enabled from public.google_calendar_webhook_settings),
  false,
  'The settings row follows the RPC''s p_webhooks (off).'
);
set local role service_role;
select is(
  public.google_calendar_record_connect_failure('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'denied', 'google_access_denied', false),
  false,
  'record_connect_failure queues nothing with webhooks off.'
);
reset role;
-- A new transaction-free path: the setting, not an RPC, decides (clear the RPC's GUC first).
select set_config('google_calendar.webhooks', '', true);
delete from public.google_calendar_tokens where user_id = 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1';
select is_empty(
  $$ select * from pg_temp.events('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1') $$,
  'With webhooks off, neither connect, connect_failed nor a manual delete wrote an event.'
);

-- ---------------------------------------------------------------------------
-- Webhooks on: connected
-- ---------------------------------------------------------------------------
set local role service_role;
select is(
  public.google_calendar_save_grant('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'acc-a', 'ref-a', null,
    now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'],
    'sub-a', 'a@gmail.test', true) - 'grant_id',
  '{"saved": true, "reconnected": false, "google_account_linked_to_other_users": false}'::jsonb,
  'A first consent is saved, not a reconnect, and not linked to anyone else.'
);
reset role;
select is(
  (select enabled from public.google_calendar_webhook_settings),
  true,
  'The settings row follows the RPC''s p_webhooks (on).'
);
select is(
  pg_temp.last_event('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1') - 'timestamp',
  jsonb_build_object(
    'type', 'google_calendar.connected',
    'data', jsonb_build_object(
      'user_id', 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1',
      'google_email', 'a@gmail.test',
      'google_sub', 'sub-a',
      'scopes', jsonb_build_array('https://www.googleapis.com/auth/calendar.events'),
      'reconnected', false,
      'google_account_linked_to_other_users', false)),
  'The connected event carries user, email, sub, scopes, reconnected and linked-to-others.'
);
select ok(
  (pg_temp.last_event('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1') ->> 'timestamp')
    ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$',
  'The event timestamp is ISO 8601 UTC.'
);

set local role service_role;
select is(
  public.google_calendar_save_grant('b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2', 'acc-b', 'ref-b', null,
    now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'],
    'sub-a', 'a@gmail.test', true) -> 'google_account_linked_to_other_users',
  'true'::jsonb,
  'The same Google account linked to a second user is reported by save_grant.'
);
reset role;
select is(
  pg_temp.last_event('b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2') -> 'data' -> 'google_account_linked_to_other_users',
  'true'::jsonb,
  'and by the connected event.'
);

set local role service_role;
select is(
  public.google_calendar_save_grant('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'acc-a2', 'ref-a2', null,
    now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'],
    'sub-a', 'a@gmail.test', true) -> 'reconnected',
  'true'::jsonb,
  'A re-consent is reported as a reconnect.'
);
reset role;
select is(
  pg_temp.last_event('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1') -> 'data' -> 'reconnected',
  'true'::jsonb,
  'The re-consent''s connected event says reconnected.'
);
select is(
  (select count(*)::int from pg_temp.events('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1')),
  2,
  'User A has two connected events (first consent, re-consent).'
);

set local role service_role;
update public.google_calendar_tokens set access_token = 'acc-a3', token_expiry = now() + interval '2 hours',
  last_refresh_at = now() where user_id = 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1';
reset role;
select is(
  (select count(*)::int from pg_temp.events('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1')),
  2,
  'A refresh (an update that keeps grant_id) writes no event.'
);

-- A direct insert (PostgREST, SQL) still gets its event: the trigger, not the RPC, writes it.
select set_config('google_calendar.webhooks', '', true);
insert into public.google_calendar_tokens (user_id, access_token, refresh_token, google_email, google_sub)
values ('c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3', 'acc-c', 'ref-c', 'c@gmail.test', 'sub-c');
select is(
  pg_temp.last_event('c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3') ->> 'type',
  'google_calendar.connected',
  'A direct insert writes the connected event (webhooks on from the settings row).'
);
select ok(
  (select bool_and(position('ref-' in payload::text) = 0 and position('acc-' in payload::text) = 0)
     from public.google_calendar_webhook_events
    where user_id in ('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2', 'c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3')),
  'No event payload holds a token.'
);

-- ---------------------------------------------------------------------------
-- disconnected: every delete path, with its cause
-- ---------------------------------------------------------------------------
set local role service_role;
select is(
  public.google_calendar_delete_grant('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', null, 'disconnect', null, true, true, true),
  true,
  'delete_grant deletes the user''s grant.'
);
reset role;
select is(
  pg_temp.last_event('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1') - 'timestamp',
  jsonb_build_object(
    'type', 'google_calendar.disconnected',
    'data', jsonb_build_object(
      'user_id', 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1',
      'google_email', 'a@gmail.test',
      'cause', 'disconnect',
      'revoked_at_google', true)),
  'The RPC''s delete writes disconnected with its cause and revoked_at_google.'
);

set local role service_role;
select is(
  public.google_calendar_delete_grant('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', null, 'disconnect', null, true, true, true),
  false,
  'Deleting a grant that is not there reports false.'
);
reset role;

delete from public.google_calendar_tokens where user_id = 'c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3';
select is(
  pg_temp.last_event('c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3') -> 'data',
  '{"user_id": "c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3", "google_email": "c@gmail.test", "cause": "deleted", "revoked_at_google": false}'::jsonb,
  'A manual SQL delete writes disconnected with cause deleted.'
);

delete from auth.users where id = 'b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2';
select is(
  pg_temp.last_event('b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2') -> 'data' ->> 'cause',
  'user_deleted',
  'Deleting the user from auth.users (the cascade) writes disconnected with cause user_deleted.'
);

-- reconnect_required, then disconnected, in that order, in the deleting transaction.
set local role service_role;
select public.google_calendar_save_grant('d4d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4', 'acc-d', 'ref-d', null,
  now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'],
  'sub-d', 'd@gmail.test', true);
select public.google_calendar_delete_grant('d4d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4', null,
  'reconnect_required', 'google_grant_expired', false, false, true);
reset role;
select results_eq(
  $$ select type, case when type = 'google_calendar.connected' then null else payload -> 'data' end
       from pg_temp.events('d4d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4') $$,
  $$ values
    ('google_calendar.connected', null::jsonb),
    ('google_calendar.reconnect_required', '{"user_id": "d4d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4", "google_email": "d@gmail.test", "reason": "google_grant_expired"}'::jsonb),
    ('google_calendar.disconnected', '{"user_id": "d4d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4", "google_email": "d@gmail.test", "cause": "reconnect_required", "revoked_at_google": false}'::jsonb)
  $$,
  'A dead grant''s delete writes reconnect_required (with reason) and then disconnected.'
);

-- The RPC's cause does not leak into a later delete of the same transaction.
insert into public.google_calendar_tokens (user_id, access_token, refresh_token, google_email)
values ('d4d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4', 'acc-d2', 'ref-d2', 'd@gmail.test');
delete from public.google_calendar_tokens where user_id = 'd4d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4';
select is(
  pg_temp.last_event('d4d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4') -> 'data' ->> 'cause',
  'deleted',
  'A manual delete after delete_grant in the same transaction is cause deleted, not the RPC''s.'
);

-- connect_failed
set local role service_role;
select is(
  public.google_calendar_record_connect_failure('e5e5e5e5-e5e5-4e5e-8e5e-e5e5e5e5e5e5', 'error', 'google_account_mismatch', true),
  true,
  'record_connect_failure queues an event with webhooks on.'
);
reset role;
select is(
  pg_temp.last_event('e5e5e5e5-e5e5-4e5e-8e5e-e5e5e5e5e5e5') - 'timestamp',
  '{"type": "google_calendar.connect_failed", "data": {"user_id": "e5e5e5e5-e5e5-4e5e-8e5e-e5e5e5e5e5e5", "result": "error", "reason": "google_account_mismatch"}}'::jsonb,
  'connect_failed carries result and reason.'
);

-- ---------------------------------------------------------------------------
-- Delivery: claim, settle, order per user
-- ---------------------------------------------------------------------------
-- User F gets four events: connect_failed x4 (the kind does not matter for ordering).
set local role service_role;
select public.google_calendar_record_connect_failure('f6f6f6f6-f6f6-4f6f-8f6f-f6f6f6f6f6f6', 'error', 'r' || i, true)
from generate_series(1, 4) i;

create temp table claims (n int, id uuid, seq bigint, lease_id uuid, attempts int, webhook_id text) on commit drop;
insert into claims select 1, id, seq, lease_id, attempts, webhook_id
  from public.google_calendar_webhook_claim(1000, 30) where user_id = 'f6f6f6f6-f6f6-4f6f-8f6f-f6f6f6f6f6f6';
select results_eq(
  $$ select payload -> 'data' ->> 'reason', attempts from public.google_calendar_webhook_events
     where id in (select id from claims where n = 1) $$,
  $$ values ('r1', 1) $$,
  'Only the user''s head event (the oldest) is claimed, with attempts 1.'
);
select is(
  (select webhook_id from claims where n = 1),
  (select 'msg_' || replace(id::text, '-', '') from claims where n = 1),
  'The webhook id is msg_ plus the event id without dashes.'
);

insert into claims select 2, id, seq, lease_id, attempts, webhook_id
  from public.google_calendar_webhook_claim(1000, 30) where user_id = 'f6f6f6f6-f6f6-4f6f-8f6f-f6f6f6f6f6f6';
select is(
  (select count(*)::int from claims where n = 2),
  0,
  'A second claimer gets nothing of this user: the head is leased, the rest wait behind it.'
);
select is(
  (select count(*)::int from public.google_calendar_webhook_claim(10, 30, 'f6f6f6f6-f6f6-4f6f-8f6f-f6f6f6f6f6f6')),
  0,
  'Nor does a claim for this user only.'
);

select is(
  public.google_calendar_webhook_settle((select id from claims where n = 1), gen_random_uuid(), 'delivered', 200, null),
  false,
  'A settle without the lease id changes nothing.'
);
select is(
  public.google_calendar_webhook_settle((select id from claims where n = 1), (select lease_id from claims where n = 1), 'delivered', 204, null),
  true,
  'The lease holder settles its event as delivered.'
);
select is(
  public.google_calendar_webhook_settle((select id from claims where n = 1), (select lease_id from claims where n = 1), 'delivered', 204, null),
  false,
  'A second settle with the same lease does nothing (the lease is gone).'
);
select ok(
  (select delivered_at is not null and lease_id is null and last_status = 204
     from public.google_calendar_webhook_events where id = (select id from claims where n = 1)),
  'A delivered event has delivered_at, its status, and no lease.'
);

insert into claims select 3, id, seq, lease_id, attempts, webhook_id
  from public.google_calendar_webhook_claim(10, 30, 'f6f6f6f6-f6f6-4f6f-8f6f-f6f6f6f6f6f6');
select results_eq(
  $$ select payload -> 'data' ->> 'reason' from public.google_calendar_webhook_events
     where id in (select id from claims where n = 3) $$,
  $$ values ('r2') $$,
  'Once the head is delivered, the next event is claimable.'
);

select is(
  public.google_calendar_webhook_settle((select id from claims where n = 3), (select lease_id from claims where n = 3), 'retry', 500, 'http_500'),
  true,
  'The lease holder settles a failed attempt as retry.'
);
select ok(
  (select next_attempt_at > now() and dead_at is null and last_error = 'http_500' and last_status = 500
     from public.google_calendar_webhook_events where id = (select id from claims where n = 3)),
  'A retried event waits (next_attempt_at in the future) and keeps its short error.'
);
select is(
  (select count(*)::int from public.google_calendar_webhook_claim(10, 30, 'f6f6f6f6-f6f6-4f6f-8f6f-f6f6f6f6f6f6')),
  0,
  'While an earlier event waits for its retry, a later event of the same user is not claimable.'
);

-- Backoff grows: simulate attempts 1, 2, 3 and compare the delays (jitter is ±25 %, so each
-- doubling stays apart).
reset role;
create temp table delays (attempts int, delay_s float8) on commit drop;
do $$
declare
  v_id uuid := (select id from claims where n = 3);
  v_lease uuid;
  k int;
begin
  for k in 1..3 loop
    v_lease := gen_random_uuid();
    update public.google_calendar_webhook_events set attempts = k, lease_id = v_lease where id = v_id;
    perform public.google_calendar_webhook_settle(v_id, v_lease, 'retry', 503, 'http_503');
    insert into pg_temp.delays
      select k, extract(epoch from next_attempt_at - now()) from public.google_calendar_webhook_events where id = v_id;
  end loop;
end
$$;
select ok(
  (select delay_s between 22.5 and 37.5 from delays where attempts = 1),
  'The first retry waits about 30 s (±25 %).'
);
select ok(
  (select bool_and(d2.delay_s > d1.delay_s) from delays d1 join delays d2 on d2.attempts = d1.attempts + 1),
  'Each further attempt waits longer than the one before.'
);
update public.google_calendar_webhook_events set attempts = 20, lease_id = '99999999-9999-4999-8999-999999999999'
where id = (select id from claims where n = 3);
select public.google_calendar_webhook_settle((select id from claims where n = 3), '99999999-9999-4999-8999-999999999999', 'retry', 503, 'http_503');
select ok(
  (select next_attempt_at <= now() + interval '75 minutes' from public.google_calendar_webhook_events where id = (select id from claims where n = 3)),
  'The backoff is capped at about an hour.'
);

-- Older than p_max_age: the retry dead-letters it, and it stops blocking.
update public.google_calendar_webhook_events
set created_at = now() - interval '25 hours', lease_id = '88888888-8888-4888-8888-888888888888'
where id = (select id from claims where n = 3);
set local role service_role;
select is(
  public.google_calendar_webhook_settle((select id from claims where n = 3), '88888888-8888-4888-8888-888888888888', 'retry', 500, 'http_500'),
  true,
  'A retry of an event older than 24 h is settled...'
);
select ok(
  (select dead_at is not null and delivered_at is null from public.google_calendar_webhook_events where id = (select id from claims where n = 3)),
  '...as dead.'
);
insert into claims select 4, id, seq, lease_id, attempts, webhook_id
  from public.google_calendar_webhook_claim(10, 30, 'f6f6f6f6-f6f6-4f6f-8f6f-f6f6f6f6f6f6');
select results_eq(
  $$ select payload -> 'data' ->> 'reason' from public.google_calendar_webhook_events
     where id in (select id from claims where n = 4) $$,
  $$ values ('r3') $$,
  'A dead-lettered event stops blocking: the next one is claimable.'
);

-- A lapsed lease: another claimer takes the event, and the first holder can no longer settle.
reset role;
update public.google_calendar_webhook_events set lease_until = now() - interval '1 second'
where id = (select id from claims where n = 4);
set local role service_role;
insert into claims select 5, id, seq, lease_id, attempts, webhook_id
  from public.google_calendar_webhook_claim(10, 30, 'f6f6f6f6-f6f6-4f6f-8f6f-f6f6f6f6f6f6');
select ok(
  (select c5.id = c4.id and c5.lease_id <> c4.lease_id and c5.attempts = 2 and c5.webhook_id = c4.webhook_id
     from claims c4, claims c5 where c4.n = 4 and c5.n = 5),
  'A lapsed lease is re-claimed with a new lease id, attempts + 1 and the same webhook id.'
);
select is(
  public.google_calendar_webhook_settle((select id from claims where n = 4), (select lease_id from claims where n = 4), 'delivered', 200, null),
  false,
  'The holder of the lapsed lease cannot settle.'
);
select is(
  public.google_calendar_webhook_settle((select id from claims where n = 5), (select lease_id from claims where n = 5), 'gone', 410, null),
  true,
  'The new holder settles 410 as gone.'
);
select ok(
  (select dead_at is not null and last_error = 'gone' and last_status = 410
     from public.google_calendar_webhook_events where id = (select id from claims where n = 5)),
  'gone dead-letters at once, with last_error gone.'
);
select throws_ok(
  $$ select public.google_calendar_webhook_settle(gen_random_uuid(), gen_random_uuid(), 'maybe', 0, null) $$,
  '22023', null,
  'An unknown outcome is refused.'
);

-- Other users are not blocked by user F.
select ok(
  (select lease_id is not null and attempts = 1 from public.google_calendar_webhook_events
    where user_id = 'e5e5e5e5-e5e5-4e5e-8e5e-e5e5e5e5e5e5' order by seq limit 1),
  'The first claim also leased another user''s head event: users do not block one another.'
);
reset role;

-- ---------------------------------------------------------------------------
-- Backlog view and purge
-- ---------------------------------------------------------------------------
set local role service_role;
select ok(
  (select undelivered >= 1 and dead_letters >= 2 from public.google_calendar_webhook_backlog),
  'The backlog view counts undelivered events and dead letters.'
);
reset role;
update public.google_calendar_webhook_events set delivered_at = now() - interval '8 days'
where id = (select id from claims where n = 1);
update public.google_calendar_webhook_events set dead_at = now() - interval '31 days'
where id = (select id from claims where n = 3);
set local role service_role;
select cmp_ok(
  public.google_calendar_webhook_purge(interval '7 days', 1000),
  '>=', 2,
  'purge deletes old delivered and old dead events and returns the count.'
);
select is(
  (select count(*)::int from public.google_calendar_webhook_events
    where id in ((select id from claims where n = 1), (select id from claims where n = 3))),
  0,
  'The delivered event past retention and the dead one past the dead retention are gone.'
);
select is(
  (select count(*)::int from public.google_calendar_webhook_events where id = (select id from claims where n = 5)),
  1,
  'A recent dead letter is kept.'
);
select is(
  (select count(*)::int from public.google_calendar_webhook_events where user_id = 'f6f6f6f6-f6f6-4f6f-8f6f-f6f6f6f6f6f6' and delivered_at is null and dead_at is null),
  1,
  'Undelivered events are never purged.'
);
reset role;

select * from finish();
rollback;
