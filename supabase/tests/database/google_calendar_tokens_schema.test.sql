-- Schema facts for public.google_calendar_tokens
-- (supabase/migrations/20261124000000_google_calendar_tokens.sql).
-- Everything runs in one transaction and is rolled back.
begin;

create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(26);

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
  array['Users manage their own Google Calendar tokens'],
  'The only policy is "Users manage their own Google Calendar tokens".'
);

select policy_roles_are(
  'public', 'google_calendar_tokens', 'Users manage their own Google Calendar tokens',
  array['authenticated'],
  'The policy applies to the authenticated role only.'
);

select policy_cmd_is(
  'public', 'google_calendar_tokens', 'Users manage their own Google Calendar tokens',
  'all',
  'The policy covers ALL commands.'
);

select table_privs_are(
  'public', 'google_calendar_tokens', 'anon', array[]::text[],
  'anon has no privileges at all on the table.'
);

select * from finish();
rollback;
