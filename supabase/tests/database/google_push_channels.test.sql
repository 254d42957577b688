-- Push channels and sync (issue 23): opening and activating channels (one active per user, the
-- replaced one's stop queued), the push's coalesced sync request, the sync lease (two at once:
-- one runs), the save (token and events_changed in one transaction, only for the lease holder),
-- and the grant trigger that queues a stop for every channel whichever way the grant dies or
-- changes account. Everything runs in one transaction and is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(45);

create function pg_temp.jwe(p_kid text, p_tag text) returns text
language sql immutable as $$
  select translate(rtrim(encode(convert_to('{"alg":"dir","enc":"A256GCM","kid":"' || p_kid || '"}', 'UTF8'), 'base64'), '='), '+/', '-_')
    || '..aXY.' || p_tag || '.dGFn'
$$;

insert into auth.users (id, email) values
  ('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'p-a@example.test'),
  ('b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2', 'p-b@example.test'),
  ('c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3', 'p-c@example.test'),
  ('d4d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4', 'p-d@example.test');

set local role service_role;
select public.google_calendar_save_grant(u.id, pg_temp.jwe('k1', 'YWNj' || n), pg_temp.jwe('k1', 'cmVm' || n), null,
  now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'], 'sub-' || n, n || '@gmail.test', true)
from (values ('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1'::uuid, 'a'), ('b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2'::uuid, 'b'),
             ('c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3'::uuid, 'c')) as u(id, n);

-- ---------------------------------------------------------------------------
-- Opening and activating
-- ---------------------------------------------------------------------------
select is(
  public.google_calendar_channel_begin('11111111-0000-4000-8000-000000000001', 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', repeat('a', 64)),
  'sub-a',
  'channel_begin records an opening channel for the grant''s Google account.'
);
select is(
  public.google_calendar_channel_begin('11111111-0000-4000-8000-0000000000d4', 'd4d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4', repeat('a', 64)),
  null,
  'channel_begin for a user without a grant writes nothing.'
);
select throws_ok(
  $$ select public.google_calendar_channel_begin(gen_random_uuid(), 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'secret-token') $$,
  '23514', null,
  'Only a SHA-256 hex hash can be stored as the channel token.'
);
select is(
  public.google_calendar_channel_activate('11111111-0000-4000-8000-000000000001', 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1',
    'res-a', now() + interval '7 days', now() + interval '5 days'),
  'active',
  'activate makes the opening channel active.'
);
select results_eq(
  $$ select sync_token is null, requested_at is not null, google_sub from public.google_calendar_sync_state
     where user_id = 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1' $$,
  $$ values (true, true, 'sub-a') $$,
  'The first activation creates the sync state with the first (token-only) sync due.'
);
select public.google_calendar_channel_begin('11111111-0000-4000-8000-000000000002', 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', repeat('b', 64));
select is(
  public.google_calendar_channel_activate('11111111-0000-4000-8000-000000000002', 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1',
    'res-a2', now() + interval '7 days', now() + interval '5 days'),
  'active',
  'A renewal activates the new channel.'
);
select results_eq(
  $$ select id::text, state from public.google_calendar_channels where user_id = 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1' order by id $$,
  $$ values ('11111111-0000-4000-8000-000000000001', 'replaced'), ('11111111-0000-4000-8000-000000000002', 'active') $$,
  'The old channel is replaced: one active channel per user.'
);
select results_eq(
  $$ select channel_id::text, resource_id, cause, access_token is null from public.google_calendar_channel_stops $$,
  $$ values ('11111111-0000-4000-8000-000000000001', 'res-a', 'replaced', true) $$,
  'The replaced channel''s stop is queued, to be sent with the live grant''s token.'
);
select throws_ok(
  $$ insert into public.google_calendar_channels (id, user_id, google_sub, token_hash, resource_id, expiration, state)
     values (gen_random_uuid(), 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'sub-a', repeat('c', 64), 'r', now(), 'active') $$,
  '23505', null,
  'A second active channel for one user is refused.'
);

-- ---------------------------------------------------------------------------
-- Pushes
-- ---------------------------------------------------------------------------
update public.google_calendar_sync_state set requested_at = null, sync_token = 'tok-1';
select results_eq(
  $$ select result, user_id::text from public.google_calendar_push_exists('11111111-0000-4000-8000-000000000002') $$,
  $$ values ('queued', 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1') $$,
  'An exists push on the active channel makes a sync due.'
);
select results_eq(
  $$ select result from public.google_calendar_push_exists('11111111-0000-4000-8000-000000000002')
     union all select result from public.google_calendar_push_exists('11111111-0000-4000-8000-000000000002') $$,
  $$ values ('coalesced'), ('coalesced') $$,
  'More pushes while the sync is due are coalesced into it.'
);
select is(
  (select request_seq from public.google_calendar_sync_state where user_id = 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1'),
  3::bigint,
  'Each push is counted, so a sync already running does not clear a later request.'
);
select is(
  (select result from public.google_calendar_push_exists('11111111-0000-4000-8000-000000000001')),
  'replaced',
  'A push on the replaced channel queues no sync.'
);
select is(
  (select count(*)::int from public.google_calendar_channel_stops),
  1,
  '… and its stop, already queued, is not queued twice.'
);
select is(
  (select result from public.google_calendar_push_exists('99999999-0000-4000-8000-000000000009')),
  'unknown',
  'A push for an unknown channel is unknown …'
);
select is(
  (select count(*)::int from public.google_calendar_channel_stops),
  1,
  '… and queues nothing.'
);

-- ---------------------------------------------------------------------------
-- Sync: claim, save, fail
-- ---------------------------------------------------------------------------
create temp table claims (n int, user_id uuid, sync_token text, request_seq bigint, lease_id uuid) on commit drop;
insert into claims select 1, c.user_id, c.sync_token, c.request_seq, c.lease_id
from public.google_calendar_sync_claim(array['a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1'::uuid], 5, 60) c;
select results_eq(
  $$ select user_id::text, sync_token, request_seq from claims where n = 1 $$,
  $$ values ('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'tok-1', 3::bigint) $$,
  'The claim leases the due sync with its token and request count.'
);
select is(
  (select count(*)::int from public.google_calendar_sync_claim(array['a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1'::uuid], 5, 60)),
  0,
  'A second sync for the same user at once claims nothing.'
);
select is(
  public.google_calendar_sync_save('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', gen_random_uuid(), 3, 'tok-x',
    '[{"id":"e1"}]', false, true),
  null,
  'A save without the lease writes nothing.'
);
select is(
  (select count(*)::int from public.google_calendar_webhook_events where type = 'google_calendar.events_changed'),
  0,
  '… no event queued.'
);
-- A push while the sync runs.
select public.google_calendar_push_exists('11111111-0000-4000-8000-000000000002');
select is(
  public.google_calendar_sync_save(c.user_id, c.lease_id, c.request_seq, 'tok-2',
    '[{"id":"e1","status":"confirmed","summary":"Dentist"},{"id":"e2","status":"cancelled"}]', false, true),
  2,
  'The lease holder''s save queues the changed events.'
) from claims c where n = 1;
select results_eq(
  $$ select payload #>> '{data,user_id}', payload #> '{data,events}' -> 0 ->> 'summary', payload #>> '{data,resync}',
            jsonb_array_length(payload #> '{data,events}'), payload::text like '%tok-%'
     from public.google_calendar_webhook_events where type = 'google_calendar.events_changed' $$,
  $$ values ('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'Dentist', 'false', 2, false) $$,
  'One events_changed event carries the events, in order, and never the sync token.'
);
select results_eq(
  $$ select sync_token, lease_id is null, requested_at is not null from public.google_calendar_sync_state
     where user_id = 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1' $$,
  $$ values ('tok-2', true, true) $$,
  'The token is saved with them; the push during the sync leaves another sync due.'
);
delete from claims;
insert into claims select 2, c.user_id, c.sync_token, c.request_seq, c.lease_id
from public.google_calendar_sync_claim(null, 10, 60) c;
select is(
  public.google_calendar_sync_save(c.user_id, c.lease_id, c.request_seq, 'tok-3',
    (select jsonb_agg(jsonb_build_object('id', 'r' || i)) from generate_series(1, 250) i), true, true),
  250,
  'A resync with 250 events saves them all.'
) from claims c where n = 2;
select results_eq(
  $$ select payload #>> '{data,part}', payload #>> '{data,parts}', payload #> '{data,events}' -> 0 ->> 'id',
            jsonb_array_length(payload #> '{data,events}'), payload #>> '{data,resync}'
     from public.google_calendar_webhook_events where type = 'google_calendar.events_changed' and payload #>> '{data,resync}' = 'true'
     order by seq $$,
  $$ values ('1', '3', 'r1', 100, 'true'), ('2', '3', 'r101', 100, 'true'), ('3', '3', 'r201', 50, 'true') $$,
  'Large syncs go out in parts of 100, in order, marked resync.'
);
select is(
  (select requested_at from public.google_calendar_sync_state where user_id = 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1'),
  null,
  'With no push since the claim, the request is cleared.'
);
update public.google_calendar_sync_state set requested_at = now() where user_id = 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1';
delete from claims;
insert into claims select 3, c.user_id, c.sync_token, c.request_seq, c.lease_id
from public.google_calendar_sync_claim(null, 10, 60) c;
select ok(
  public.google_calendar_sync_fail(c.user_id, c.lease_id, 'google_unavailable'),
  'A failed sync releases its lease …'
) from claims c where n = 3;
select results_eq(
  $$ select requested_at > now(), lease_id is null, last_error, sync_token from public.google_calendar_sync_state
     where user_id = 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1' $$,
  $$ values (true, true, 'google_unavailable', 'tok-3') $$,
  '… and is due again after a backoff, its token unchanged.'
);

-- ---------------------------------------------------------------------------
-- Renewal
-- ---------------------------------------------------------------------------
update public.google_calendar_channels set renew_at = now() - interval '1 minute' where state = 'active';
create temp table renewals (id uuid, lease_id uuid) on commit drop;
insert into renewals select r.id, r.lease_id from public.google_calendar_channel_claim_renewals(10, 60) r;
select is((select count(*)::int from renewals), 1, 'Due renewals are claimed.');
select is(
  (select count(*)::int from public.google_calendar_channel_claim_renewals(10, 60)),
  0,
  'A claimed renewal is not claimed twice.'
);
select ok(
  public.google_calendar_channel_renewal_failed(r.id, r.lease_id, 'google_unavailable'),
  'A failed renewal is recorded …'
) from renewals r;
select results_eq(
  $$ select state, renew_at > now(), renew_lease_id is null from public.google_calendar_channels
     where id = '11111111-0000-4000-8000-000000000002' $$,
  $$ values ('active', true, true) $$,
  '… the channel keeps serving and is retried later.'
);

-- ---------------------------------------------------------------------------
-- The stop queue
-- ---------------------------------------------------------------------------
create temp table stops (channel_id uuid, lease_id uuid) on commit drop;
insert into stops select s.channel_id, s.lease_id from public.google_calendar_channel_stop_claim(10, 30) s;
select ok(
  public.google_calendar_channel_stop_settle(s.channel_id, s.lease_id, 'done', null),
  'A stop that went through is settled …'
) from stops s;
select is(
  (select count(*)::int from public.google_calendar_channels where id = '11111111-0000-4000-8000-000000000001'),
  0,
  '… and the replaced channel''s row goes with it.'
);

-- ---------------------------------------------------------------------------
-- The grant's trigger
-- ---------------------------------------------------------------------------
select public.google_calendar_delete_grant('a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', null, 'disconnect', null, false, true, true);
select results_eq(
  $$ select channel_id::text, cause, access_token = pg_temp.jwe('k1', 'YWNja') from public.google_calendar_channel_stops $$,
  $$ values ('11111111-0000-4000-8000-000000000002', 'grant_deleted', true) $$,
  'A disconnect queues the stop of the user''s channel, with the grant''s last access token.'
);
select is(
  (select count(*)::int from public.google_calendar_channels c where c.user_id = 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1')
  + (select count(*)::int from public.google_calendar_sync_state s where s.user_id = 'a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1'),
  0,
  'The channels and the sync state go with the grant.'
);

-- B: a reconnect to the same account keeps the channel; to another account stops it.
select public.google_calendar_channel_begin('22222222-0000-4000-8000-000000000001', 'b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2', repeat('d', 64));
select public.google_calendar_channel_activate('22222222-0000-4000-8000-000000000001', 'b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2',
  'res-b', now() + interval '7 days', now() + interval '5 days');
select public.google_calendar_save_grant('b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2', pg_temp.jwe('k1', 'YWNjYjI'),
  pg_temp.jwe('k1', 'cmVmYjI'), null, now() + interval '1 hour', null,
  array['https://www.googleapis.com/auth/calendar.events'], 'sub-b', 'b@gmail.test', true);
select is(
  (select state from public.google_calendar_channels where id = '22222222-0000-4000-8000-000000000001'),
  'active',
  'A reconnect to the same Google account keeps the channel.'
);
select public.google_calendar_save_grant('b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2', pg_temp.jwe('k1', 'YWNjYjM'),
  pg_temp.jwe('k1', 'cmVmYjM'), null, now() + interval '1 hour', null,
  array['https://www.googleapis.com/auth/calendar.events'], 'sub-other', 'other@gmail.test', true);
select results_eq(
  $$ select cause, access_token = pg_temp.jwe('k1', 'YWNjYjI') from public.google_calendar_channel_stops
     where channel_id = '22222222-0000-4000-8000-000000000001' $$,
  $$ values ('account_changed', true) $$,
  'A reconnect to another Google account stops the old account''s channel, with its token.'
);

-- C: the grant dies while a watch is in flight; the auth user deleted (cascade).
select public.google_calendar_channel_begin('33333333-0000-4000-8000-000000000001', 'c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3', repeat('e', 64));
select public.google_calendar_delete_grant('c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3', null, 'reconnect_required', 'invalid_grant', false, false, true);
select is(
  public.google_calendar_channel_activate('33333333-0000-4000-8000-000000000001', 'c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3',
    'res-c', now() + interval '7 days', now() + interval '5 days'),
  'orphaned',
  'A watch that returns after the grant died is orphaned (its opener stops it).'
);
select public.google_calendar_save_grant('c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3', pg_temp.jwe('k1', 'YWNjYzQ'),
  pg_temp.jwe('k1', 'cmVmYzQ'), null, now() + interval '1 hour', null,
  array['https://www.googleapis.com/auth/calendar.events'], 'sub-c', 'c@gmail.test', true);
select public.google_calendar_channel_begin('33333333-0000-4000-8000-000000000002', 'c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3', repeat('f', 64));
select public.google_calendar_channel_activate('33333333-0000-4000-8000-000000000002', 'c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3',
  'res-c2', now() + interval '7 days', now() + interval '5 days');
reset role;
delete from auth.users where id = 'c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3';
set local role service_role;
select results_eq(
  $$ select cause from public.google_calendar_channel_stops where channel_id = '33333333-0000-4000-8000-000000000002' $$,
  $$ values ('grant_deleted') $$,
  'Deleting the auth user (the cascade) queues the stop too.'
);
select is(
  (select count(*)::int from public.google_calendar_channels where user_id = 'c3c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3'),
  0,
  '… and removes the channel.'
);
select is(
  public.google_calendar_channel_purge(100),
  0,
  'Nothing is left to purge.'
);

-- ---------------------------------------------------------------------------
-- Nothing of it reaches clients
-- ---------------------------------------------------------------------------
reset role;
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2","role":"authenticated"}', true);
select throws_ok(
  $$ select * from public.google_calendar_sync_state $$,
  '42501', null,
  'A signed-in user cannot read sync state (tokens).'
);
select throws_ok(
  $$ select * from public.google_calendar_channels $$,
  '42501', null,
  'A signed-in user cannot read channels.'
);
select throws_ok(
  $$ select public.google_calendar_push_exists('22222222-0000-4000-8000-000000000001') $$,
  '42501', null,
  'A signed-in user cannot call the push RPCs.'
);

select * from finish();
rollback;
