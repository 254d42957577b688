-- getGoogleAccessToken's round trips: read_for_use reads the grant and takes the refresh lease
-- only for a token due for renewal and only when nobody holds it; await_row answers with the
-- row once the lease is let go. Service only. Everything is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(9);

insert into auth.users (id, email) values
  ('0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a', 'rw-1@example.test'),
  ('0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b', 'rw-2@example.test');

-- 1: valid for an hour; 2: expired a minute ago.
insert into public.google_calendar_tokens (user_id, access_token, refresh_token, token_expiry)
values
  ('0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a', 'a', 'r', now() + interval '1 hour'),
  ('0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b', 'a', 'r', now() - interval '1 minute');

set local role service_role;

select is(
  (public.google_token_read_for_use('0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a', now() + interval '5 minutes',
    gen_random_uuid(), 30))->>'leased',
  'false',
  'A token valid beyond the renewal window is read without taking the lease.'
);
select is(
  (select refresh_lease_id from public.google_calendar_tokens
    where user_id = '0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a'),
  null,
  'Reading a valid token leaves no lease behind.'
);
select is(
  (public.google_token_read_for_use('0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b', now() + interval '5 minutes',
    'c1c1c1c1-c1c1-4c1c-8c1c-c1c1c1c1c1c1', 30))->>'leased',
  'true',
  'A token due for renewal is read and leased in the same call.'
);
select is(
  (public.google_token_read_for_use('0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b', now() + interval '5 minutes',
    gen_random_uuid(), 30))->>'leased',
  'false',
  'A second reader does not get a lease someone holds, but still gets the row.'
);
select is(
  (public.google_token_read_for_use('0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b', now() + interval '5 minutes',
    gen_random_uuid(), 30))->>'access_token',
  'a',
  'The row comes with the answer.'
);
select is(
  public.google_token_read_for_use(gen_random_uuid(), now(), gen_random_uuid(), 30),
  null,
  'No grant: null.'
);
select is(
  (public.google_token_await_row('0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b', 5))->>'state',
  'timeout',
  'While the lease is held, the wait times out.'
);
update public.google_calendar_tokens set refresh_lease_id = null, refresh_lease_until = null
  where user_id = '0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b';
select is(
  (public.google_token_await_row('0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b', 5))->'row'->>'user_id',
  '0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b',
  'Once let go, the wait answers released with the row.'
);

reset role;
set local role authenticated;
select throws_ok(
  $$ select public.google_token_read_for_use(gen_random_uuid(), now(), gen_random_uuid(), 30) $$,
  '42501',
  null,
  'Signed-in users cannot call read_for_use.'
);

select * from finish();
rollback;
