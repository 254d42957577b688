-- Row level security on public.google_calendar_tokens, actor by actor:
-- user A (authenticated), anon, service_role, and the ON DELETE CASCADE from auth.users.
-- Everything (pgtap, helpers, seed data) runs in one transaction and is rolled back.
begin;

create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(34);

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

insert into public.google_calendar_tokens (user_id, access_token, refresh_token, token_expiry, scopes) values
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'a-access', 'a-refresh', now() + interval '1 hour',
   array['https://www.googleapis.com/auth/calendar.events']),
  ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'b-access', 'b-refresh', now() + interval '1 hour',
   array['https://www.googleapis.com/auth/calendar.events']);

-- ---------------------------------------------------------------------------
-- User A (authenticated)
-- ---------------------------------------------------------------------------
select pg_temp.authenticate_as('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');

select results_eq(
  $$ select user_id, access_token, refresh_token from public.google_calendar_tokens $$,
  $$ values ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 'a-access', 'a-refresh') $$,
  'User A sees exactly one row, their own.'
);

select is_empty(
  $$ select * from public.google_calendar_tokens where user_id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb' $$,
  'User A does not see user B''s row.'
);

select lives_ok(
  $$ update public.google_calendar_tokens
        set access_token = 'a-access-2', updated_at = now()
      where user_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' $$,
  'User A can update their own row.'
);

select results_eq(
  $$ select access_token from public.google_calendar_tokens where user_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' $$,
  $$ values ('a-access-2') $$,
  'User A''s update changed their own row.'
);

with u as (
  update public.google_calendar_tokens
     set access_token = 'hijacked-by-a'
   where user_id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'
  returning 1
)
select is((select count(*)::int from u), 0, 'User A''s update of user B''s row affects 0 rows.');

with d as (
  delete from public.google_calendar_tokens
   where user_id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'
  returning 1
)
select is((select count(*)::int from d), 0, 'User A''s delete of user B''s row deletes nothing.');

with d as (
  delete from public.google_calendar_tokens returning 1
)
select is((select count(*)::int from d), 1, 'An unfiltered delete by user A removes only their own row.');

select is_empty(
  $$ select * from public.google_calendar_tokens $$,
  'After deleting, user A sees no rows.'
);

select lives_ok(
  $$ insert into public.google_calendar_tokens (user_id, access_token, refresh_token)
     values ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'a-access-3', 'a-refresh-3') $$,
  'User A, having no row, can insert their own row.'
);

select results_eq(
  $$ select user_id, access_token from public.google_calendar_tokens $$,
  $$ values ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 'a-access-3') $$,
  'User A sees the row they just inserted.'
);

select throws_ok(
  $$ insert into public.google_calendar_tokens (user_id, access_token, refresh_token)
     values ('cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'forged', 'forged') $$,
  '42501',
  'new row violates row-level security policy for table "google_calendar_tokens"',
  'User A cannot insert a row for another user (C, who has none).'
);

select throws_ok(
  $$ insert into public.google_calendar_tokens (user_id, access_token, refresh_token)
     values ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'forged', 'forged') $$,
  '42501',
  'new row violates row-level security policy for table "google_calendar_tokens"',
  'User A cannot insert a row for user B (RLS, not the primary key, rejects it).'
);

select throws_ok(
  $$ update public.google_calendar_tokens
        set user_id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'
      where user_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' $$,
  '42501',
  'new row violates row-level security policy for table "google_calendar_tokens"',
  'User A cannot move their own row to user B (RLS, not the primary key, rejects it).'
);

select throws_ok(
  $$ update public.google_calendar_tokens
        set user_id = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc'
      where user_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' $$,
  '42501',
  'new row violates row-level security policy for table "google_calendar_tokens"',
  'User A cannot move their own row to user C, who has none.'
);

select lives_ok(
  $$ delete from public.google_calendar_tokens where user_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' $$,
  'User A can delete their own row.'
);

select is_empty(
  $$ select * from public.google_calendar_tokens where user_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' $$,
  'User A''s row is gone after their delete.'
);

select pg_temp.reset_role();

-- Put A's row back for the sections below, as postgres (so a broken policy cannot abort the file).
insert into public.google_calendar_tokens (user_id, access_token, refresh_token)
values ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'a-access-4', 'a-refresh-4')
on conflict (user_id) do update
  set access_token = excluded.access_token, refresh_token = excluded.refresh_token;

-- Verify as postgres (no RLS) that nothing A tried against B's row had any effect.

select results_eq(
  $$ select user_id, access_token, refresh_token from public.google_calendar_tokens
     where user_id in ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'cccccccc-cccc-4ccc-8ccc-cccccccccccc') order by user_id $$,
  $$ values ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 'a-access-4', 'a-refresh-4'),
            ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid, 'b-access', 'b-refresh') $$,
  'Seen as postgres, user B''s row is unchanged and no row exists for user C.'
);

-- ---------------------------------------------------------------------------
-- Authenticated without a sub claim (auth.uid() is null)
-- ---------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = '{"role":"authenticated"}';

select is_empty(
  $$ select * from public.google_calendar_tokens $$,
  'An authenticated request without a sub claim sees no rows.'
);

select pg_temp.reset_role();

-- ---------------------------------------------------------------------------
-- anon: every privilege on the table is revoked, so every statement is refused outright
-- (42501 permission denied), before RLS is even consulted.
-- ---------------------------------------------------------------------------
select pg_temp.authenticate_as_anon();

select throws_ok(
  $$ select * from public.google_calendar_tokens $$,
  '42501',
  'permission denied for table google_calendar_tokens',
  'anon cannot select from the table.'
);

select throws_ok(
  $$ insert into public.google_calendar_tokens (user_id, access_token, refresh_token)
     values ('cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'anon', 'anon') $$,
  '42501',
  'permission denied for table google_calendar_tokens',
  'anon cannot insert into the table.'
);

select throws_ok(
  $$ update public.google_calendar_tokens set access_token = 'anon' $$,
  '42501',
  'permission denied for table google_calendar_tokens',
  'anon cannot update the table.'
);

select throws_ok(
  $$ delete from public.google_calendar_tokens $$,
  '42501',
  'permission denied for table google_calendar_tokens',
  'anon cannot delete from the table.'
);

select pg_temp.reset_role();

-- ---------------------------------------------------------------------------
-- service_role: BYPASSRLS, full access to every row. (Counts are over this file's users: the
-- database may hold other rows, which service_role sees too.)
-- ---------------------------------------------------------------------------
select pg_temp.authenticate_as_service_role();

select is(
  (select count(*)::int from public.google_calendar_tokens where user_id in ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'cccccccc-cccc-4ccc-8ccc-cccccccccccc')),
  2,
  'service_role reads all rows (A''s and B''s).'
);

select lives_ok(
  $$ insert into public.google_calendar_tokens (user_id, access_token, refresh_token, scopes)
     values ('cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'c-access', 'c-refresh',
             array['https://www.googleapis.com/auth/calendar.events']) $$,
  'service_role can insert a row for any user.'
);

select is(
  (select count(*)::int from public.google_calendar_tokens where user_id in ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'cccccccc-cccc-4ccc-8ccc-cccccccccccc')),
  3,
  'service_role sees the row it inserted (3 rows in all).'
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
-- User B sees B's row as service_role left it, and still not A's.
-- ---------------------------------------------------------------------------
select pg_temp.authenticate_as('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');

select results_eq(
  $$ select user_id, access_token from public.google_calendar_tokens $$,
  $$ values ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid, 'b-access-rotated') $$,
  'User B sees exactly their own row, with service_role''s change.'
);

select pg_temp.reset_role();

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
