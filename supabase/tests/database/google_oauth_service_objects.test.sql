-- The service-only objects: the pending-flow table and the two functions the Edge Functions
-- call. Users and anon reach none of them; the functions keep their promises.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(28);

insert into auth.users (id, email) values
  ('dddddddd-dddd-4ddd-8ddd-dddddddddddd', 'flow-d@example.test'),
  ('eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', 'flow-e@example.test');

-- ---------------------------------------------------------------------------
-- Schema and privileges
-- ---------------------------------------------------------------------------
select has_table('public', 'google_oauth_pending_flows', 'The pending-flow table exists.');
select is(
  (select relrowsecurity from pg_class where oid = 'public.google_oauth_pending_flows'::regclass),
  true,
  'Row level security is enabled on the pending-flow table.'
);
select is(
  (select count(*)::int from pg_policies where tablename = 'google_oauth_pending_flows'),
  0,
  'The pending-flow table has no policy: only service_role (bypassrls) reaches it.'
);
select ok(
  not has_table_privilege('anon', 'public.google_oauth_pending_flows', 'select, insert, update, delete'),
  'anon holds no privilege on the pending-flow table.'
);
select ok(
  not has_table_privilege('authenticated', 'public.google_oauth_pending_flows', 'select, insert, update, delete'),
  'authenticated holds no privilege on the pending-flow table.'
);
select ok(
  not has_function_privilege('anon', 'public.google_oauth_begin_flow(uuid, uuid, text, timestamptz, text)', 'execute'),
  'anon cannot call google_oauth_begin_flow.'
);
select ok(
  not has_function_privilege('authenticated', 'public.google_oauth_begin_flow(uuid, uuid, text, timestamptz, text)', 'execute'),
  'authenticated cannot call google_oauth_begin_flow.'
);
select ok(
  not has_function_privilege('anon', 'public.google_oauth_consume_flow(uuid)', 'execute')
    and not has_function_privilege('authenticated', 'public.google_oauth_consume_flow(uuid)', 'execute'),
  'Neither anon nor authenticated can call google_oauth_consume_flow.'
);
select hasnt_function(
  'public', 'google_oauth_begin_flow', array['uuid', 'uuid', 'text', 'timestamp with time zone', 'integer'],
  'The old begin_flow overload (with p_max_pending) is gone.'
);
select ok(
  not has_function_privilege('authenticated', 'public.google_token_acquire_refresh_lease(uuid, uuid, integer)', 'execute'),
  'authenticated cannot call google_token_acquire_refresh_lease.'
);
select ok(
  not has_function_privilege('anon', 'public.google_token_acquire_refresh_lease(uuid, uuid, integer)', 'execute'),
  'anon cannot call google_token_acquire_refresh_lease.'
);

-- ---------------------------------------------------------------------------
-- authenticated: a signed-in user cannot read or write flows, not even their own
-- ---------------------------------------------------------------------------
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"dddddddd-dddd-4ddd-8ddd-dddddddddddd","role":"authenticated"}', true);
select throws_ok(
  $$ select * from public.google_oauth_pending_flows $$,
  '42501', null,
  'A signed-in user cannot read pending flows.'
);
select throws_ok(
  $$ insert into public.google_oauth_pending_flows (jti, user_id, code_verifier, expires_at)
     values (gen_random_uuid(), 'dddddddd-dddd-4ddd-8ddd-dddddddddddd', 'v', now() + interval '5 minutes') $$,
  '42501', null,
  'A signed-in user cannot insert a pending flow.'
);
reset role;

-- ---------------------------------------------------------------------------
-- service_role: google_oauth_begin_flow
-- ---------------------------------------------------------------------------
set local role service_role;
select is(
  public.google_oauth_begin_flow('ffffffff-ffff-4fff-8fff-ffffffffffff', gen_random_uuid(), 'v', now() + interval '10 minutes', null),
  '{"user_exists": false}'::jsonb,
  'An unknown user is reported as such.'
);
select is(
  (select count(*)::int from public.google_oauth_pending_flows where user_id = 'ffffffff-ffff-4fff-8fff-ffffffffffff'),
  0,
  'Nothing is stored for an unknown user.'
);
select is(
  public.google_oauth_begin_flow('dddddddd-dddd-4ddd-8ddd-dddddddddddd', '0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a', 'v0', now() + interval '10 minutes', null),
  '{"user_exists": true, "has_refresh_token": false}'::jsonb,
  'A user without tokens gets a flow and has no refresh token.'
);
select public.google_oauth_begin_flow('dddddddd-dddd-4ddd-8ddd-dddddddddddd', gen_random_uuid(), 'v' || i, now() + interval '10 minutes', null)
from generate_series(1, 3) as i;
select public.google_oauth_begin_flow('dddddddd-dddd-4ddd-8ddd-dddddddddddd', '0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b', 'newest', now() + interval '10 minutes', 'Ana@Gmail.test');
select results_eq(
  $$ select jti, code_verifier, expected_google_email from public.google_oauth_pending_flows
     where user_id = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd' $$,
  $$ values ('0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b'::uuid, 'newest', 'Ana@Gmail.test') $$,
  'Only the newest link works: a new flow voids the user''s older ones, and keeps the expected email.'
);
insert into public.google_oauth_pending_flows (jti, user_id, code_verifier, expires_at, created_at)
values (gen_random_uuid(), 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', 'old', now() - interval '1 minute', now() - interval '11 minutes');
insert into public.google_oauth_pending_flows (jti, user_id, code_verifier, expires_at)
values ('0c0c0c0c-0c0c-4c0c-8c0c-0c0c0c0c0c0c', 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', 'live', now() + interval '5 minutes');
select public.google_oauth_begin_flow('dddddddd-dddd-4ddd-8ddd-dddddddddddd', gen_random_uuid(), 'v8', now() + interval '10 minutes', null);
select is(
  (select count(*)::int from public.google_oauth_pending_flows where expires_at <= now()),
  0,
  'Starting a flow purges expired flows (a bounded batch).'
);
select is(
  (select count(*)::int from public.google_oauth_pending_flows where jti = '0c0c0c0c-0c0c-4c0c-8c0c-0c0c0c0c0c0c'),
  1,
  'Another user''s live flow is untouched.'
);

-- consume_flow: exactly once, and the user comes from the flow (the state carries no user id).
select results_eq(
  $$ select user_id, code_verifier, expected_google_email from public.google_oauth_consume_flow('0c0c0c0c-0c0c-4c0c-8c0c-0c0c0c0c0c0c') $$,
  $$ values ('eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee'::uuid, 'live', null::text) $$,
  'Consuming a flow returns its user, verifier and expected email.'
);
select is_empty(
  $$ select * from public.google_oauth_consume_flow('0c0c0c0c-0c0c-4c0c-8c0c-0c0c0c0c0c0c') $$,
  'A flow can be consumed only once.'
);
select is_empty(
  $$ select * from public.google_oauth_consume_flow('0b0a0b0a-0b0a-4b0a-8b0a-0b0a0b0a0b0a') $$,
  'An unknown jti consumes nothing.'
);

insert into public.google_calendar_tokens (user_id, access_token, refresh_token)
values ('dddddddd-dddd-4ddd-8ddd-dddddddddddd', 'a', 'r');
select is(
  public.google_oauth_begin_flow('dddddddd-dddd-4ddd-8ddd-dddddddddddd', gen_random_uuid(), 'v9', now() + interval '10 minutes', null) -> 'has_refresh_token',
  'true'::jsonb,
  'A connected user has a refresh token: consent need not be forced.'
);
update public.google_calendar_tokens set last_refresh_error = 'google_refresh_token_missing'
where user_id = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';
select is(
  public.google_oauth_begin_flow('dddddddd-dddd-4ddd-8ddd-dddddddddddd', gen_random_uuid(), 'v10', now() + interval '10 minutes', null) -> 'has_refresh_token',
  'false'::jsonb,
  'After a refresh token could not be kept, the next link forces consent.'
);

-- ---------------------------------------------------------------------------
-- service_role: google_token_acquire_refresh_lease
-- ---------------------------------------------------------------------------
select is(
  public.google_token_acquire_refresh_lease('dddddddd-dddd-4ddd-8ddd-dddddddddddd', '11111111-1111-4111-8111-111111111111', 30),
  true,
  'The first caller takes the refresh lease.'
);
select is(
  public.google_token_acquire_refresh_lease('dddddddd-dddd-4ddd-8ddd-dddddddddddd', '22222222-2222-4222-8222-222222222222', 30),
  false,
  'A second caller does not get a live lease.'
);
update public.google_calendar_tokens set refresh_lease_until = now() - interval '1 second'
where user_id = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';
select is(
  public.google_token_acquire_refresh_lease('dddddddd-dddd-4ddd-8ddd-dddddddddddd', '22222222-2222-4222-8222-222222222222', 30),
  true,
  'A lapsed lease (its holder died) can be taken by the next caller.'
);
select is(
  public.google_token_acquire_refresh_lease('eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', '33333333-3333-4333-8333-333333333333', 30),
  false,
  'There is no lease for a user without tokens.'
);
reset role;

select * from finish();
rollback;
