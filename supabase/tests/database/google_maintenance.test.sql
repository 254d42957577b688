-- Maintenance RPCs (issue 13) and the refresh waiter (issue 14 item 4): keep-alive claims take
-- the refresh lease, expiring is marked and announced once, lapsed grants are listed, what is
-- due and the rows per key are reported, expired flows are purged, and the refresh waiter (await_row) answers
-- released / gone / timeout. Everything runs in one transaction and is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(27);

create function pg_temp.jwe(p_kid text) returns text
language sql immutable as $$
  select translate(rtrim(encode(convert_to('{"alg":"dir","enc":"A256GCM","kid":"' || p_kid || '"}', 'UTF8'), 'base64'), '='), '+/', '-_')
    || '..aXY.Y3Q.dGFn'
$$;

insert into auth.users (id, email) values
  ('01010101-0101-4101-8101-010101010101', 'm-1@example.test'),
  ('02020202-0202-4202-8202-020202020202', 'm-2@example.test'),
  ('03030303-0303-4303-8303-030303030303', 'm-3@example.test'),
  ('04040404-0404-4404-8404-040404040404', 'm-4@example.test'),
  ('05050505-0505-4505-8505-050505050505', 'm-5@example.test');

-- 1: unused for 40 days; 2: unused for 35 days but a live caller holds its lease; 3: fresh;
-- 4: time-limited, lapses in 24 h; 5: time-limited, lapsed an hour ago (and unused for 50 days).
insert into public.google_calendar_tokens
  (user_id, access_token, refresh_token, google_email, refresh_token_used_at, refresh_token_expires_at,
   refresh_lease_id, refresh_lease_until)
values
  ('01010101-0101-4101-8101-010101010101', 'a', pg_temp.jwe('mk-old'), '1@gmail.test', now() - interval '40 days', null, null, null),
  ('02020202-0202-4202-8202-020202020202', 'a', pg_temp.jwe('mk-old'), '2@gmail.test', now() - interval '35 days', null,
   '0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f', now() + interval '20 seconds'),
  ('03030303-0303-4303-8303-030303030303', 'a', pg_temp.jwe('mk-new'), '3@gmail.test', now(), null, null, null),
  ('04040404-0404-4404-8404-040404040404', 'a', pg_temp.jwe('mk-new'), '4@gmail.test', now(), now() + interval '24 hours', null, null),
  ('05050505-0505-4505-8505-050505050505', 'a', pg_temp.jwe('mk-new'), '5@gmail.test', now() - interval '50 days', now() - interval '1 hour', null, null);

-- ---------------------------------------------------------------------------
-- Keep-alive
-- ---------------------------------------------------------------------------
set local role service_role;
select results_eq(
  $$ select user_id from public.google_maintenance_claim_keepalive(now() - interval '30 days', 1000,
       '0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e', 45, null)
     where user_id::text like '0_0_0_0_-%' $$,
  $$ values ('01010101-0101-4101-8101-010101010101'::uuid) $$,
  'Keep-alive claims the grant unused for 30 days, not one leased by a live caller, a fresh one or a lapsed one.'
);
select results_eq(
  $$ select refresh_lease_id, refresh_lease_until = now() + interval '45 seconds'
       from public.google_calendar_tokens where user_id = '01010101-0101-4101-8101-010101010101' $$,
  $$ values ('0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e'::uuid, true) $$,
  'The claim is the normal refresh lease, with the pass''s lease id.'
);
select is(
  public.google_token_acquire_refresh_lease('01010101-0101-4101-8101-010101010101', gen_random_uuid(), 30),
  false,
  'A live caller cannot take the lease while keep-alive holds it (single flight).'
);
select is_empty(
  $$ select user_id from public.google_maintenance_claim_keepalive(now() - interval '30 days', 1000,
       gen_random_uuid(), 45, null) where user_id::text like '0_0_0_0_-%' $$,
  'A second pass claims nothing: the rows are leased.'
);
reset role;
update public.google_calendar_tokens set refresh_lease_until = now() - interval '1 second'
where user_id in ('01010101-0101-4101-8101-010101010101', '02020202-0202-4202-8202-020202020202');
set local role service_role;
select results_eq(
  $$ select user_id from public.google_maintenance_claim_keepalive(now() - interval '30 days', 1,
       gen_random_uuid(), 45, null) where user_id::text like '0_0_0_0_-%' $$,
  $$ values ('01010101-0101-4101-8101-010101010101'::uuid) $$,
  'Lapsed leases are claimable again, oldest first, at most p_limit.'
);

-- ---------------------------------------------------------------------------
-- Expiring and expired
-- ---------------------------------------------------------------------------
select results_eq(
  $$ select user_id from public.google_maintenance_mark_expiring(now() + interval '48 hours', 1000, true)
      where user_id::text like '0_0_0_0_-%' $$,
  $$ values ('04040404-0404-4404-8404-040404040404'::uuid) $$,
  'mark_expiring picks the grant lapsing within 48 h, not the lapsed one.'
);
select is(
  (select payload - 'timestamp' from public.google_calendar_webhook_events
    where user_id = '04040404-0404-4404-8404-040404040404' and type = 'google_calendar.expiring'),
  jsonb_build_object('type', 'google_calendar.expiring', 'data', jsonb_build_object(
    'user_id', '04040404-0404-4404-8404-040404040404',
    'google_email', '4@gmail.test',
    'refresh_token_expires_at',
      to_char((now() + interval '24 hours') at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
  'The expiring event carries the email and the expiry.'
);
select ok(
  (select expiring_notified_at = now() from public.google_calendar_tokens where user_id = '04040404-0404-4404-8404-040404040404'),
  'The grant is marked as notified.'
);
select is_empty(
  $$ select user_id from public.google_maintenance_mark_expiring(now() + interval '48 hours', 1000, true)
      where user_id::text like '0_0_0_0_-%' $$,
  'A second pass does not announce it again.'
);
select is(
  (select count(*)::int from public.google_calendar_webhook_events
    where user_id = '04040404-0404-4404-8404-040404040404' and type = 'google_calendar.expiring'),
  1,
  'Exactly one expiring event per grant.'
);
-- A re-consent clears the notice.
select public.google_calendar_save_grant('04040404-0404-4404-8404-040404040404', 'a2', pg_temp.jwe('mk-new'), null,
  now() + interval '1 hour', now() + interval '30 hours', null, 'sub-4', '4@gmail.test', false);
select results_eq(
  $$ select user_id from public.google_maintenance_mark_expiring(now() + interval '48 hours', 1000, false)
      where user_id::text like '0_0_0_0_-%' $$,
  $$ values ('04040404-0404-4404-8404-040404040404'::uuid) $$,
  'After a re-consent the new grant is marked again when it nears its own expiry...'
);
select is(
  (select count(*)::int from public.google_calendar_webhook_events
    where user_id = '04040404-0404-4404-8404-040404040404' and type = 'google_calendar.expiring'),
  1,
  '...without an event when webhooks are off.'
);

select results_eq(
  $$ select user_id from public.google_maintenance_expired_grants(1000) where user_id::text like '0_0_0_0_-%' $$,
  $$ values ('05050505-0505-4505-8505-050505050505'::uuid) $$,
  'expired_grants lists the lapsed time-limited grant only.'
);

-- ---------------------------------------------------------------------------
-- Reports and housekeeping
-- ---------------------------------------------------------------------------
reset role;
insert into public.google_calendar_revocations (user_id, refresh_token, cause)
values ('09090909-0909-4909-8909-090909090909', pg_temp.jwe('mk-old'), 'deleted'),
       ('09090909-0909-4909-8909-090909090909', pg_temp.jwe('mk-older'), 'deleted');
set local role service_role;
select results_eq(
  $$ select key_id, tokens, revocations from public.google_maintenance_key_counts('mk-new')
      where not estimated and key_id like 'mk-%' $$,
  $$ values ('mk-old', 2::bigint, 1::bigint), ('mk-older', 0::bigint, 1::bigint) $$,
  'key_counts reports exact rows per old key id, tokens and revocation queue.'
);
select results_eq(
  $$ select key_id from public.google_maintenance_key_counts('mk-new') where estimated $$,
  $$ values ('mk-new') $$,
  'The current key''s count is flagged as an estimate.'
);
select results_eq(
  $$ select key_id, tokens, revocations, estimated from public.google_maintenance_key_counts() where key_id like 'mk-%' $$,
  $$ values ('mk-new', 3::bigint, 0::bigint, false), ('mk-old', 2::bigint, 1::bigint, false), ('mk-older', 0::bigint, 1::bigint, false) $$,
  'Without the current key id every key is counted exactly.'
);
select ok(
  public.google_maintenance_due() ?& array['oldest_refresh_token_used_at', 'next_expiring_at', 'next_expiry_at',
    'expired_grants', 'revocations_due', 'next_revocation_at', 'webhooks_due', 'next_webhook_at', 'expired_flows'],
  'due reports every task.'
);
select cmp_ok(
  (public.google_maintenance_due() ->> 'expired_grants')::int, '>=', 1,
  'due counts the lapsed grant.'
);

reset role;
insert into public.google_oauth_pending_flows (jti, user_id, code_verifier, expires_at)
select gen_random_uuid(), '01010101-0101-4101-8101-010101010101', 'v', now() - interval '1 minute'
from generate_series(1, 3);
insert into public.google_oauth_pending_flows (jti, user_id, code_verifier, expires_at)
values (gen_random_uuid(), '02020202-0202-4202-8202-020202020202', 'live', now() + interval '5 minutes');
set local role service_role;
select is(public.google_maintenance_purge_flows(2), 2, 'purge_flows deletes at most p_limit expired flows.');
select cmp_ok(public.google_maintenance_purge_flows(1000), '>=', 1, 'The next call deletes the rest.');
select is(
  (select count(*)::int from public.google_oauth_pending_flows where user_id in ('01010101-0101-4101-8101-010101010101', '02020202-0202-4202-8202-020202020202')),
  1,
  'Live flows are kept.'
);

-- ---------------------------------------------------------------------------
-- the refresh waiter, await_row (assert on the answer, not on timing)
-- ---------------------------------------------------------------------------
reset role;
update public.google_calendar_tokens set refresh_lease_id = null, refresh_lease_until = null
where user_id = '03030303-0303-4303-8303-030303030303';
update public.google_calendar_tokens set refresh_lease_id = gen_random_uuid(), refresh_lease_until = now() + interval '1 minute'
where user_id = '02020202-0202-4202-8202-020202020202';
update public.google_calendar_tokens set refresh_lease_id = gen_random_uuid(), refresh_lease_until = now() - interval '1 second'
where user_id = '01010101-0101-4101-8101-010101010101';
set local role service_role;
select is(public.google_token_await_row('03030303-0303-4303-8303-030303030303', 1000)->>'state', 'released',
  'A free lease answers released.');
select is(public.google_token_await_row('01010101-0101-4101-8101-010101010101', 1000)->>'state', 'released',
  'A lapsed lease answers released.');
select is(public.google_token_await_row('09090909-0909-4909-8909-090909090909', 1000)->>'state', 'gone',
  'No row answers gone.');
select is(public.google_token_await_row('02020202-0202-4202-8202-020202020202', 20)->>'state', 'timeout',
  'A live lease held past the wait answers timeout.');
select is(public.google_token_await_row('02020202-0202-4202-8202-020202020202', 0)->>'state', 'timeout',
  'A zero wait looks once and answers timeout.');
select is(
  (select count(*)::int from pg_proc where proname = 'google_token_await_row' and provolatile = 'v'),
  1,
  'await_row is volatile: each look takes a new snapshot and sees other sessions'' commits.'
);
reset role;

select * from finish();
rollback;
