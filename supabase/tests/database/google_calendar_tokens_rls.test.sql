-- Row level security and column privileges on public.google_calendar_tokens, actor by actor:
-- the owner (user A), another user (B's view of A), an authenticated request without sub, anon,
-- service_role, and the ON DELETE CASCADE from auth.users.
-- A signed-in user may only SELECT their own row, and only its non-secret columns; nobody but
-- the service writes (issue 14 item 3).
-- Everything (pgtap, helpers, seed data) runs in one transaction and is rolled back.
begin;

create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(38);

-- ---------------------------------------------------------------------------
-- Helpers (basejump supabase-test-helpers style). pg_temp functions are dropped with the
-- session and never committed; EXECUTE is granted to PUBLIC by default, so they remain
-- callable after the role has been switched to authenticated/anon/service_role.
-- ---------------------------------------------------------------------------
create function pg_temp.authenticate_as(uid uuid) returns void
language plpgsql as $$
begin
  perform set_config('role', 'authenticated', true);
  perform set_config(
    'request.jwt.claims',
    json_build_object('sub', uid, 'role', 'authenticated')::text,
    true
  );
end
$$;

create function pg_temp.authenticate_as_anon() returns void
language plpgsql as $$
begin
  perform set_config('role', 'anon', true);
  perform set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
end
$$;

create function pg_temp.authenticate_as_service_role() returns void
language plpgsql as $$
begin
  perform set_config('role', 'service_role', true);
  perform set_config('request.jwt.claims', json_build_object('role', 'service_role')::text, true);
end
$$;

create function pg_temp.reset_role() returns void
language plpgsql as $$
begin
  reset role;
  perform set_config('request.jwt.claims', '', true);
end
$$;

-- ---------------------------------------------------------------------------
-- Seed (as postgres): users A, B and C; a token row for A and for B, none for C.
-- ---------------------------------------------------------------------------
insert into auth.users (id, email) values
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'user-a@example.test'),
  ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'user-b@example.test'),
  ('cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'user-c@example.test');

insert into public.google_calendar_tokens (user_id, access_token, refresh_token, token_expiry, scopes, google_email, google_sub) values
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'a-access', 'a-refresh', now() + interval '1 hour',
   array['https://www.googleapis.com/auth/calendar.events'], 'a@gmail.test', 'sub-a'),
  ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'b-access', 'b-refresh', now() + interval '1 hour',
   array['https://www.googleapis.com/auth/calendar.events'], 'b@gmail.test', 'sub-b');

-- ---------------------------------------------------------------------------
-- Owner (user A): reads their own row's non-secret columns, writes nothing.
-- ---------------------------------------------------------------------------
select pg_temp.authenticate_as('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');

select results_eq(
  $$ select user_id, google_email from public.google_calendar_tokens $$,
  $$ values ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 'a@gmail.test') $$,
  'User A sees exactly one row, their own.'
);

select lives_ok(
  $$ select user_id, google_email, scopes, token_expiry, refresh_token_expires_at, connected_at,
            updated_at, last_refresh_at, last_refresh_error
       from public.google_calendar_tokens $$,
  'User A may read every non-secret column of their row.'
);

select throws_ok(
  $$ select access_token from public.google_calendar_tokens $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'User A cannot read the access token ciphertext.'
);

select throws_ok(
  $$ select refresh_token from public.google_calendar_tokens $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'User A cannot read the refresh token ciphertext.'
);

select throws_ok(
  $$ select refresh_lease_id, refresh_lease_until from public.google_calendar_tokens $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'User A cannot read the refresh lease.'
);

select throws_ok(
  $$ select google_sub, grant_id, key_id from public.google_calendar_tokens $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'User A cannot read the Google sub, grant id or key id.'
);

select throws_ok(
  $$ select * from public.google_calendar_tokens $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'select * is refused: it names secret columns.'
);

select throws_ok(
  $$ update public.google_calendar_tokens set token_expiry = null
      where user_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'User A cannot update their own row (no self-denial of service through token_expiry).'
);

select throws_ok(
  $$ update public.google_calendar_tokens set refresh_lease_until = now() + interval '10 years' $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'User A cannot push the refresh lease into the future.'
);

select throws_ok(
  $$ delete from public.google_calendar_tokens where user_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'User A cannot delete their own row (that would skip the revoke at Google).'
);

select throws_ok(
  $$ insert into public.google_calendar_tokens (user_id, access_token, refresh_token)
     values ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'old-access', 'old-refresh') $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'User A cannot insert a row for themselves.'
);

select throws_ok(
  $$ truncate public.google_calendar_tokens $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'User A cannot truncate the table.'
);

-- ---------------------------------------------------------------------------
-- Another user (A looking at B, and at C who has no row)
-- ---------------------------------------------------------------------------
select is_empty(
  $$ select user_id from public.google_calendar_tokens where user_id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb' $$,
  'User A does not see user B''s row.'
);

select throws_ok(
  $$ update public.google_calendar_tokens set access_token = 'hijacked-by-a'
      where user_id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb' $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'User A cannot update user B''s row.'
);

select throws_ok(
  $$ delete from public.google_calendar_tokens where user_id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb' $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'User A cannot delete user B''s row.'
);

select throws_ok(
  $$ insert into public.google_calendar_tokens (user_id, access_token, refresh_token)
     values ('cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'forged', 'forged') $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'User A cannot insert a row for user C.'
);

select pg_temp.reset_role();

select results_eq(
  $$ select user_id, access_token, refresh_token, token_expiry is not null, refresh_lease_until
       from public.google_calendar_tokens
      where user_id in ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'cccccccc-cccc-4ccc-8ccc-cccccccccccc')
      order by user_id $$,
  $$ values ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 'a-access', 'a-refresh', true, null::timestamptz),
            ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid, 'b-access', 'b-refresh', true, null::timestamptz) $$,
  'Seen as postgres, nothing user A tried changed any row, and no row exists for user C.'
);

-- User B sees their own row only.
select pg_temp.authenticate_as('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');
select results_eq(
  $$ select user_id from public.google_calendar_tokens $$,
  $$ values ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid) $$,
  'User B sees exactly their own row, not A''s.'
);
select pg_temp.reset_role();

-- ---------------------------------------------------------------------------
-- Authenticated without a sub claim (auth.uid() is null)
-- ---------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = '{"role":"authenticated"}';

select is_empty(
  $$ select user_id from public.google_calendar_tokens $$,
  'An authenticated request without a sub claim sees no rows.'
);

select pg_temp.reset_role();

-- ---------------------------------------------------------------------------
-- anon: every privilege on the table is revoked, so every statement is refused outright.
-- ---------------------------------------------------------------------------
select pg_temp.authenticate_as_anon();

select throws_ok(
  $$ select user_id from public.google_calendar_tokens $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'anon cannot select from the table, not even the non-secret columns.'
);

select throws_ok(
  $$ insert into public.google_calendar_tokens (user_id, access_token, refresh_token)
     values ('cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'anon', 'anon') $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'anon cannot insert into the table.'
);

select throws_ok(
  $$ update public.google_calendar_tokens set access_token = 'anon' $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'anon cannot update the table.'
);

select throws_ok(
  $$ delete from public.google_calendar_tokens $$,
  '42501', 'permission denied for table google_calendar_tokens',
  'anon cannot delete from the table.'
);

select pg_temp.reset_role();

-- ---------------------------------------------------------------------------
-- service_role: BYPASSRLS, full access to every row and column.
-- ---------------------------------------------------------------------------
select pg_temp.authenticate_as_service_role();

select is(
  (select count(*)::int from public.google_calendar_tokens where user_id in ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'cccccccc-cccc-4ccc-8ccc-cccccccccccc')),
  2,
  'service_role reads all rows (A''s and B''s).'
);

select results_eq(
  $$ select refresh_token from public.google_calendar_tokens where user_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' $$,
  $$ values ('a-refresh') $$,
  'service_role reads the secret columns.'
);

select lives_ok(
  $$ insert into public.google_calendar_tokens (user_id, access_token, refresh_token, scopes)
     values ('cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'c-access', 'c-refresh',
             array['https://www.googleapis.com/auth/calendar.events']) $$,
  'service_role can insert a row for any user.'
);

with u as (
  update public.google_calendar_tokens
     set access_token = 'b-access-rotated', updated_at = now()
   where user_id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'
  returning 1
)
select is((select count(*)::int from u), 1, 'service_role can update another user''s row.');

select results_eq(
  $$ select access_token from public.google_calendar_tokens where user_id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb' $$,
  $$ values ('b-access-rotated') $$,
  'service_role''s update changed user B''s row.'
);

with d as (
  delete from public.google_calendar_tokens
   where user_id = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc'
  returning 1
)
select is((select count(*)::int from d), 1, 'service_role can delete any user''s row.');

select is_empty(
  $$ select * from public.google_calendar_tokens where user_id = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc' $$,
  'User C''s row is gone after service_role''s delete.'
);

select pg_temp.reset_role();

-- ---------------------------------------------------------------------------
-- Privileges as the catalog states them
-- ---------------------------------------------------------------------------
select ok(
  not has_table_privilege('authenticated', 'public.google_calendar_tokens', 'select'),
  'authenticated holds no table-wide SELECT (only column privileges).'
);
select ok(
  not has_table_privilege('authenticated', 'public.google_calendar_tokens', 'insert, update, delete, truncate, references, trigger'),
  'authenticated holds no write privilege on the table.'
);
select is(
  (select array_agg(column_name::text order by column_name::text)
     from information_schema.column_privileges
    where table_schema = 'public' and table_name = 'google_calendar_tokens'
      and grantee = 'authenticated' and privilege_type = 'SELECT'),
  array['connected_at', 'google_email', 'last_refresh_at', 'last_refresh_error',
        'refresh_token_expires_at', 'scopes', 'token_expiry', 'updated_at', 'user_id'],
  'authenticated may select exactly the non-secret columns.'
);
select ok(
  not has_any_column_privilege('anon', 'public.google_calendar_tokens', 'select, insert, update, references'),
  'anon holds no column privilege either.'
);

-- ---------------------------------------------------------------------------
-- Cascade: deleting the auth user deletes their tokens (as postgres).
-- ---------------------------------------------------------------------------
select isnt_empty(
  $$ select * from public.google_calendar_tokens where user_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' $$,
  'Before the user is deleted, user A has a token row.'
);

select lives_ok(
  $$ delete from auth.users where id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' $$,
  'Deleting user A from auth.users succeeds.'
);

select is_empty(
  $$ select * from public.google_calendar_tokens where user_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' $$,
  'Deleting user A from auth.users deleted their token row.'
);

select results_eq(
  $$ select user_id from public.google_calendar_tokens where user_id in ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'cccccccc-cccc-4ccc-8ccc-cccccccccccc') $$,
  $$ values ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid) $$,
  'User B''s row survives the deletion of user A.'
);

select * from finish();
rollback;
