-- Token writes through RPCs (save_grant, delete_grant) and the revocation queue (issue 13, and
-- issue 14 items 2 and 9): keep-refresh-token rules, a delete by grant id never deletes a newer
-- grant, every delete queues the encrypted refresh token unless told not to, and the queue's
-- claim/settle/re-wrap. Everything runs in one transaction and is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(36);

-- JWE-looking ciphertexts: protected headers {"alg":"dir","enc":"A256GCM","kid":"k1"} / "k2".
create function pg_temp.jwe(p_kid text, p_tag text) returns text
language sql immutable as $$
  select translate(rtrim(encode(convert_to('{"alg":"dir","enc":"A256GCM","kid":"' || p_kid || '"}', 'UTF8'), 'base64'), '='), '+/', '-_')
    || '..aXY.' || p_tag || '.dGFn'
$$;

insert into auth.users (id, email) values
  ('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7', 'g-a@example.test'),
  ('b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8', 'g-b@example.test'),
  ('c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9', 'g-c@example.test');

-- ---------------------------------------------------------------------------
-- save_grant
-- ---------------------------------------------------------------------------
set local role service_role;
create temp table grants (n int, result jsonb) on commit drop;
insert into grants select 1, public.google_calendar_save_grant('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7',
  pg_temp.jwe('k1', 'YWNj'), pg_temp.jwe('k1', 'cmVm'), null, now() + interval '1 hour',
  now() + interval '7 days', array['https://www.googleapis.com/auth/calendar.events'], 'sub-a', 'a@gmail.test', false);
select ok(
  (select (result ->> 'saved')::boolean and (result ->> 'grant_id') is not null from grants where n = 1),
  'save_grant with a refresh token stores the grant and returns its id.'
);
select results_eq(
  $$ select grant_id::text, key_id, refresh_token_expires_at is not null, refresh_token_used_at = now(), connected_at = now()
       from public.google_calendar_tokens where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7' $$,
  $$ select result ->> 'grant_id', 'k1', true, true, true from grants where n = 1 $$,
  'The row holds the returned grant id, the key id, the refresh token''s expiry and fresh timestamps.'
);

-- Simulate a refresh lease, an error and an expiring notice on the old grant.
update public.google_calendar_tokens
set refresh_lease_id = '12121212-1212-4212-8212-121212121212', refresh_lease_until = now() + interval '30 seconds',
    last_refresh_error = 'google_unavailable', expiring_notified_at = now(),
    refresh_token_used_at = now() - interval '40 days'
where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7';

-- Keeping the stored refresh token: only for the same grant and Google account.
insert into grants select 2, public.google_calendar_save_grant('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7',
  pg_temp.jwe('k1', 'YWNjMg'), null, gen_random_uuid(), now() + interval '1 hour',
  null, array['https://www.googleapis.com/auth/calendar.events'], 'sub-a', 'a@gmail.test', false);
select is(
  (select result - 'reconnected' from grants where n = 2),
  '{"saved": false, "grant_id": null, "google_account_linked_to_other_users": false}'::jsonb,
  'Keeping a refresh token of a grant that is not the stored one saves nothing.'
);
select results_eq(
  $$ select access_token = pg_temp.jwe('k1', 'YWNj'), last_refresh_error from public.google_calendar_tokens
      where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7' $$,
  $$ values (true, 'google_refresh_token_missing') $$,
  '...keeps the stored tokens, and marks the row so the next link forces consent.'
);
insert into grants select 3, public.google_calendar_save_grant('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7',
  pg_temp.jwe('k1', 'YWNjMw'), null, (select (result ->> 'grant_id')::uuid from grants where n = 1), now() + interval '1 hour',
  null, array['https://www.googleapis.com/auth/calendar.events'], 'sub-other', 'o@gmail.test', false);
select is(
  (select result ->> 'saved' from grants where n = 3),
  'false',
  'Keeping the refresh token of another Google account (other sub) saves nothing.'
);
insert into grants select 4, public.google_calendar_save_grant('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7',
  pg_temp.jwe('k1', 'YWNjNA'), null, null, now() + interval '1 hour',
  null, array['https://www.googleapis.com/auth/calendar.events'], 'sub-a', 'a@gmail.test', false);
select is(
  (select result ->> 'saved' from grants where n = 4),
  'false',
  'Keeping without naming the grant (p_keep_grant_id null) saves nothing.'
);
insert into grants select 5, public.google_calendar_save_grant('b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8',
  pg_temp.jwe('k1', 'YWNjNQ'), null, gen_random_uuid(), now() + interval '1 hour',
  null, array['https://www.googleapis.com/auth/calendar.events'], 'sub-b', 'b@gmail.test', false);
select is(
  (select result - 'grant_id' from grants where n = 5),
  '{"saved": false, "reconnected": false, "google_account_linked_to_other_users": false}'::jsonb,
  'Keeping when no row exists saves nothing and creates no row.'
);
select is_empty(
  $$ select 1 from public.google_calendar_tokens where user_id = 'b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8' $$,
  'No row appeared for user B.'
);

insert into grants select 6, public.google_calendar_save_grant('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7',
  pg_temp.jwe('k1', 'YWNjNg'), null, (select (result ->> 'grant_id')::uuid from grants where n = 1), now() + interval '1 hour',
  null, array['https://www.googleapis.com/auth/calendar.events'], 'sub-a', 'a2@gmail.test', false);
select is(
  (select result - 'grant_id' from grants where n = 6),
  '{"saved": true, "reconnected": true, "google_account_linked_to_other_users": false}'::jsonb,
  'Keeping the refresh token of the stored grant of the same account saves a reconnect.'
);
select results_eq(
  $$ select grant_id::text <> (select result ->> 'grant_id' from grants where n = 1),
            grant_id::text = (select result ->> 'grant_id' from grants where n = 6),
            refresh_token = pg_temp.jwe('k1', 'cmVm'), access_token = pg_temp.jwe('k1', 'YWNjNg'),
            refresh_lease_id, last_refresh_error, expiring_notified_at, refresh_token_expires_at is not null,
            refresh_token_used_at < now() - interval '39 days', google_email
       from public.google_calendar_tokens where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7' $$,
  $$ values (true, true, true, true, null::uuid, null::text, null::timestamptz, true, true, 'a2@gmail.test') $$,
  'A kept grant gets a new grant id, the old refresh token, no lease, no error, no expiring notice, its expiry and last use kept.'
);

-- A new refresh token replaces everything, including the time limit (null = not time-limited).
insert into grants select 7, public.google_calendar_save_grant('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7',
  pg_temp.jwe('k2', 'YWNjNw'), pg_temp.jwe('k2', 'cmVmNw'), null, now() + interval '1 hour',
  null, array['https://www.googleapis.com/auth/calendar.events'], 'sub-a', 'a@gmail.test', false);
select results_eq(
  $$ select (result ->> 'reconnected')::boolean, key_id, refresh_token_expires_at, refresh_token_used_at = now()
       from public.google_calendar_tokens, grants
      where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7' and n = 7 $$,
  $$ values (true, 'k2', null::timestamptz, true) $$,
  'A re-consent with a new refresh token is a reconnect with its key id, its (absent) time limit and a fresh last use.'
);

-- ---------------------------------------------------------------------------
-- delete_grant by grant id (issue 14 item 2) and the revocation queue
-- ---------------------------------------------------------------------------
select is(
  public.google_calendar_delete_grant('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7',
    (select (result ->> 'grant_id')::uuid from grants where n = 6), 'reconnect_required', 'google_reconnect_required', false, false, false),
  false,
  'A delete naming an older grant deletes nothing...'
);
select is(
  (select grant_id::text from public.google_calendar_tokens where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7'),
  (select result ->> 'grant_id' from grants where n = 7),
  '...and the newer grant survives.'
);
select is_empty(
  $$ select 1 from public.google_calendar_revocations where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7' $$,
  'Nothing was queued for revocation.'
);

select is(
  public.google_calendar_delete_grant('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7',
    (select (result ->> 'grant_id')::uuid from grants where n = 7), 'disconnect', null, false, true, false),
  true,
  'A delete naming the stored grant deletes it.'
);
select results_eq(
  $$ select user_id, google_sub, refresh_token = pg_temp.jwe('k2', 'cmVmNw'), key_id, cause, attempts, lease_id
       from public.google_calendar_revocations where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7' $$,
  $$ values ('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7'::uuid, 'sub-a', true, 'k2', 'disconnect', 0, null::uuid) $$,
  'A disconnect whose revoke failed queues the encrypted refresh token as stored, with its key id.'
);

-- Told not to queue: revoked already, or Google said the token is dead.
select public.google_calendar_save_grant('b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8', 'acc-b', 'ref-b', null,
  now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'], 'sub-b', 'b@gmail.test', false);
select public.google_calendar_delete_grant('b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8', null, 'disconnect', null, true, true, false);
select public.google_calendar_save_grant('b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8', 'acc-b', 'ref-b', null,
  now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'], 'sub-b', 'b@gmail.test', false);
select public.google_calendar_delete_grant('b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8', null, 'reconnect_required', 'google_reconnect_required', false, false, false);
select is_empty(
  $$ select 1 from public.google_calendar_revocations where user_id = 'b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8' $$,
  'Nothing is queued when the revoke succeeded or when no revocation is needed.'
);

-- Every other path queues: SQL by hand, and the cascade from auth.users.
select public.google_calendar_save_grant('b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8', 'acc-b', 'ref-b', null,
  now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'], 'sub-b', 'b@gmail.test', false);
select public.google_calendar_save_grant('c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9', 'acc-c', 'ref-c', null,
  now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'], 'sub-c', 'c@gmail.test', false);
reset role;
delete from public.google_calendar_tokens where user_id = 'b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8';
delete from auth.users where id = 'c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9';
select results_eq(
  $$ select user_id, cause, refresh_token from public.google_calendar_revocations
      where user_id in ('b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8', 'c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9') order by user_id $$,
  $$ values ('b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8'::uuid, 'deleted', 'ref-b'),
            ('c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9'::uuid, 'user_deleted', 'ref-c') $$,
  'A manual delete and a deleted auth user both queue the refresh token.'
);

-- ---------------------------------------------------------------------------
-- The queue's runner
-- ---------------------------------------------------------------------------
set local role service_role;
create temp table rclaims (n int, id uuid, user_id uuid, lease_id uuid, attempts int) on commit drop;
insert into rclaims select 1, id, user_id, lease_id, attempts from public.google_calendar_revocation_claim(1000, 30)
  where user_id in ('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7', 'b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8', 'c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9');
select is(
  (select count(*)::int from rclaims where n = 1 and attempts = 1 and lease_id is not null),
  3,
  'A claim leases the three due entries, attempts 1.'
);
insert into rclaims select 2, id, user_id, lease_id, attempts from public.google_calendar_revocation_claim(1000, 30)
  where user_id in ('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7', 'b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8', 'c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9');
select is(
  (select count(*)::int from rclaims where n = 2),
  0,
  'A second claimer gets none of the leased entries.'
);
select is(
  public.google_calendar_revocation_settle((select id from rclaims where n = 1 and user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7'), gen_random_uuid(), 'done', null),
  false,
  'Without the lease, done deletes nothing.'
);
select is(
  public.google_calendar_revocation_settle((select id from rclaims where n = 1 and user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7'),
    (select lease_id from rclaims where n = 1 and user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7'), 'done', null),
  true,
  'The lease holder settles done...'
);
select is_empty(
  $$ select 1 from public.google_calendar_revocations where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7' $$,
  '...and the entry is gone.'
);
select is(
  public.google_calendar_revocation_settle((select id from rclaims where n = 1 and user_id = 'b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8'),
    (select lease_id from rclaims where n = 1 and user_id = 'b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8'), 'retry', 'google_unavailable'),
  true,
  'The lease holder settles retry.'
);
select ok(
  (select next_attempt_at > now() + interval '40 seconds' and lease_id is null and last_error = 'google_unavailable'
     from public.google_calendar_revocations where user_id = 'b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8'),
  'A retried entry waits about a minute, with no lease and its error.'
);
reset role;
update public.google_calendar_revocations set next_attempt_at = now() - interval '1 second'
where user_id = 'b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8';
set local role service_role;
insert into rclaims select 3, id, user_id, lease_id, attempts from public.google_calendar_revocation_claim(1000, 30)
  where user_id = 'b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8';
select is(
  (select attempts from rclaims where n = 3),
  2,
  'Once due again it is re-claimed, attempts 2.'
);
select public.google_calendar_revocation_settle((select id from rclaims where n = 3), (select lease_id from rclaims where n = 3), 'retry', 'google_unavailable');
select ok(
  (select next_attempt_at > now() + interval '85 seconds' from public.google_calendar_revocations where user_id = 'b8b8b8b8-b8b8-4b8b-8b8b-b8b8b8b8b8b8'),
  'The second retry waits longer (about two minutes).'
);
select throws_ok(
  $$ select public.google_calendar_revocation_settle(gen_random_uuid(), gen_random_uuid(), 'maybe', null) $$,
  '22023', null,
  'An unknown outcome is refused.'
);

-- Re-wrap of queued tokens.
reset role;
update public.google_calendar_revocations set refresh_token = pg_temp.jwe('k1', 'cQ')
where user_id = 'c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9';
insert into public.google_calendar_revocations (user_id, refresh_token, cause)
values ('c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9', pg_temp.jwe('k2', 'cTI'), 'deleted');
set local role service_role;
select results_eq(
  $$ select key_id from public.google_calendar_revocation_rewrap_batch('k2', 1000)
      where user_id = 'c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9' $$,
  $$ values ('k1') $$,
  'The re-wrap batch lists entries under another key than the current one, not those under it.'
);
select is(
  public.google_calendar_revocation_rewrap(
    (select id from public.google_calendar_revocations where user_id = 'c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9' and key_id = 'k1'),
    'k9', pg_temp.jwe('k2', 'cTM')),
  false,
  'A re-wrap under a stale old key id writes nothing.'
);
select is(
  public.google_calendar_revocation_rewrap(
    (select id from public.google_calendar_revocations where user_id = 'c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9' and key_id = 'k1'),
    'k1', pg_temp.jwe('k2', 'cTM')),
  true,
  'A re-wrap under the key it was read with stores the new ciphertext...'
);
select is(
  (select count(*)::int from public.google_calendar_revocations where user_id = 'c9c9c9c9-c9c9-4c9c-8c9c-c9c9c9c9c9c9' and key_id = 'k2'),
  2,
  '...and its key id follows.'
);

-- Re-wrap of token rows (compare-and-set on grant, key and access token).
select public.google_calendar_save_grant('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7',
  pg_temp.jwe('k1', 'eA'), pg_temp.jwe('k1', 'eQ'), null, now() + interval '1 hour',
  null, array['https://www.googleapis.com/auth/calendar.events'], 'sub-a', 'a@gmail.test', false);
select results_eq(
  $$ select user_id, key_id from public.google_maintenance_rewrap_batch('k2', 1000)
      where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7' $$,
  $$ values ('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7'::uuid, 'k1') $$,
  'The token re-wrap batch lists a grant under an old key.'
);
select is(
  public.google_maintenance_rewrap_token('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7',
    (select grant_id from public.google_calendar_tokens where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7'),
    'k1', 'some-other-access-token', pg_temp.jwe('k2', 'eA'), pg_temp.jwe('k2', 'eQ')),
  false,
  'A re-wrap does nothing when the access token changed since it was read (a refresh wins).'
);
select is(
  public.google_maintenance_rewrap_token('a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7',
    (select grant_id from public.google_calendar_tokens where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7'),
    'k1', pg_temp.jwe('k1', 'eA'), pg_temp.jwe('k2', 'eA'), pg_temp.jwe('k2', 'eQ')),
  true,
  'A re-wrap of an unchanged grant stores both new ciphertexts...'
);
select results_eq(
  $$ select key_id, access_token = pg_temp.jwe('k2', 'eA') from public.google_calendar_tokens
      where user_id = 'a7a7a7a7-a7a7-4a7a-8a7a-a7a7a7a7a7a7' $$,
  $$ values ('k2', true) $$,
  '...and the row is now under the current key.'
);
reset role;

select * from finish();
rollback;
