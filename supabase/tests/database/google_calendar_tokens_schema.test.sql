-- Schema facts for public.google_calendar_tokens
-- (supabase/migrations/20261124000000_google_calendar_tokens.sql and the grant columns of
-- 20261125000000_token_grants_and_rls.sql).
-- Everything runs in one transaction and is rolled back.
begin;

create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(41);

-- ---------------------------------------------------------------------------
-- Table and columns
-- ---------------------------------------------------------------------------
select has_table('public', 'google_calendar_tokens', 'The table public.google_calendar_tokens exists.');

select has_column('public', 'google_calendar_tokens', 'user_id', 'The table has a user_id column.');
select has_column('public', 'google_calendar_tokens', 'access_token', 'The table has an access_token column.');
select has_column('public', 'google_calendar_tokens', 'refresh_token', 'The table has a refresh_token column.');
select has_column('public', 'google_calendar_tokens', 'token_expiry', 'The table has a token_expiry column.');
select has_column('public', 'google_calendar_tokens', 'scopes', 'The table has a scopes column.');
select has_column('public', 'google_calendar_tokens', 'updated_at', 'The table has an updated_at column.');

select col_type_is('public', 'google_calendar_tokens', 'user_id', 'uuid', 'user_id is a uuid.');
select col_type_is('public', 'google_calendar_tokens', 'access_token', 'text', 'access_token is text.');
select col_type_is('public', 'google_calendar_tokens', 'refresh_token', 'text', 'refresh_token is text.');
select col_type_is('public', 'google_calendar_tokens', 'token_expiry', 'timestamp with time zone', 'token_expiry is a timestamp with time zone.');
select col_type_is('public', 'google_calendar_tokens', 'scopes', 'text[]', 'scopes is a text array.');
select col_type_is('public', 'google_calendar_tokens', 'updated_at', 'timestamp with time zone', 'updated_at is a timestamp with time zone.');

select col_not_null('public', 'google_calendar_tokens', 'access_token', 'access_token is NOT NULL.');
select col_not_null('public', 'google_calendar_tokens', 'refresh_token', 'refresh_token is NOT NULL.');

select col_type_is('public', 'google_calendar_tokens', 'grant_id', 'uuid', 'grant_id is a uuid.');
select col_not_null('public', 'google_calendar_tokens', 'grant_id', 'grant_id is NOT NULL.');
select col_default_is('public', 'google_calendar_tokens', 'grant_id', 'gen_random_uuid()', 'grant_id defaults to a fresh uuid.');
select col_type_is('public', 'google_calendar_tokens', 'connected_at', 'timestamp with time zone', 'connected_at is a timestamp with time zone.');
select col_not_null('public', 'google_calendar_tokens', 'connected_at', 'connected_at is NOT NULL.');
select col_type_is('public', 'google_calendar_tokens', 'refresh_token_expires_at', 'timestamp with time zone', 'refresh_token_expires_at is a timestamp with time zone.');
select col_is_null('public', 'google_calendar_tokens', 'refresh_token_expires_at', 'refresh_token_expires_at may be null (grant not time-limited).');
select col_not_null('public', 'google_calendar_tokens', 'refresh_token_used_at', 'refresh_token_used_at is NOT NULL.');
select col_type_is('public', 'google_calendar_tokens', 'expiring_notified_at', 'timestamp with time zone', 'expiring_notified_at is a timestamp with time zone.');
select col_type_is('public', 'google_calendar_tokens', 'key_id', 'text', 'key_id is text.');

-- key_id follows the refresh token's JWE header whoever writes, and cannot be set by hand.
insert into auth.users (id, email) values ('abababab-abab-4bab-8bab-abababababab', 'schema@example.test');
insert into public.google_calendar_tokens (user_id, access_token, refresh_token, key_id)
values ('abababab-abab-4bab-8bab-abababababab', 'x',
        -- {"alg":"dir","enc":"A256GCM","kid":"k1"}
        'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoiazEifQ..aXY.Y3Q.dGFn', 'forged');
select is(
  (select key_id from public.google_calendar_tokens where user_id = 'abababab-abab-4bab-8bab-abababababab'),
  'k1', 'key_id is the kid of the refresh token''s JWE header, not what the insert said.'
);
update public.google_calendar_tokens
set refresh_token = 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoiazIifQ..aXY.Y3Q.dGFn'
where user_id = 'abababab-abab-4bab-8bab-abababababab';
select is(
  (select key_id from public.google_calendar_tokens where user_id = 'abababab-abab-4bab-8bab-abababababab'),
  'k2', 'A new refresh token ciphertext updates key_id.'
);
update public.google_calendar_tokens set key_id = 'k1' where user_id = 'abababab-abab-4bab-8bab-abababababab';
select is(
  (select key_id from public.google_calendar_tokens where user_id = 'abababab-abab-4bab-8bab-abababababab'),
  'k2', 'key_id cannot be set apart from the ciphertext.'
);
update public.google_calendar_tokens set refresh_token = 'not-a-jwe' where user_id = 'abababab-abab-4bab-8bab-abababababab';
select is(
  (select key_id from public.google_calendar_tokens where user_id = 'abababab-abab-4bab-8bab-abababababab'),
  null, 'A value that is not a JWE has no key id.'
);
select is(public.google_calendar_jwe_kid('e30..aXY.Y3Q.dGFn'), null, 'A JWE header without kid gives null.');

-- ---------------------------------------------------------------------------
-- Keys and defaults
-- ---------------------------------------------------------------------------
select col_is_pk('public', 'google_calendar_tokens', 'user_id', 'user_id is the primary key (one row per user).');

select fk_ok(
  'public', 'google_calendar_tokens', 'user_id',
  'auth', 'users', 'id',
  'user_id references auth.users(id).'
);

select is(
  (select c.confdeltype::text
     from pg_constraint c
    where c.conrelid = 'public.google_calendar_tokens'::regclass
      and c.confrelid = 'auth.users'::regclass
      and c.contype = 'f'),
  'c',
  'The foreign key to auth.users is ON DELETE CASCADE.'
);

select col_has_default('public', 'google_calendar_tokens', 'updated_at', 'updated_at has a default.');
select col_default_is('public', 'google_calendar_tokens', 'updated_at', 'now()', 'updated_at defaults to now().');

-- ---------------------------------------------------------------------------
-- Row level security and privileges
-- ---------------------------------------------------------------------------
select ok(
  (select c.relrowsecurity from pg_class c where c.oid = 'public.google_calendar_tokens'::regclass),
  'Row level security is enabled on the table.'
);

select is(
  (select count(*)::int from pg_policies where schemaname = 'public' and tablename = 'google_calendar_tokens'),
  1,
  'The table has exactly one policy.'
);

select policies_are(
  'public', 'google_calendar_tokens',
  array['Users read their own Google Calendar connection'],
  'The only policy is "Users read their own Google Calendar connection".'
);

select policy_roles_are(
  'public', 'google_calendar_tokens', 'Users read their own Google Calendar connection',
  array['authenticated'],
  'The policy applies to the authenticated role only.'
);

select policy_cmd_is(
  'public', 'google_calendar_tokens', 'Users read their own Google Calendar connection',
  'select',
  'The policy covers SELECT only: users write nothing.'
);

select table_privs_are(
  'public', 'google_calendar_tokens', 'anon', array[]::text[],
  'anon has no privileges at all on the table.'
);

select * from finish();
rollback;
