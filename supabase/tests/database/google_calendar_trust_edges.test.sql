-- Issue 21: the general claim takes only each user's head (a backlog behind a leased head costs
-- nothing and blocks no one; a dead-lettered head frees the next event), claim_users never hands
-- out a leased head twice, connect_failed is capped per user (five pending), unsaved grants are queued with their
-- Google account, and events written outside the functions wake delivery once per transaction.
-- Everything runs in one transaction and is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(14);

-- ---------------------------------------------------------------------------
-- The wake-up: written first, before any RPC of this transaction names the webhooks setting
-- ---------------------------------------------------------------------------
insert into auth.users (id, email) values
  ('21a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 't21-a@example.test'),
  ('21b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2', 't21-b@example.test'),
  ('21c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3', 't21-c@example.test'),
  ('21d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4', 't21-d@example.test');

insert into public.google_calendar_webhook_events (user_id, type, payload, next_attempt_at)
values ('21a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'google_calendar.disconnected', '{"n": 1}',
        now() - interval '10 years');
select is(
  current_setting('google_calendar.webhook_woken', true), 'on',
  'An event written outside the functions wakes delivery (pg_notify; pg_net when present).'
);

-- ---------------------------------------------------------------------------
-- S1: the general claim, after a user's head is dead-lettered, hands out the next event
-- ---------------------------------------------------------------------------
insert into public.google_calendar_webhook_events (user_id, type, payload, next_attempt_at)
values ('21a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1', 'google_calendar.disconnected', '{"n": 2}',
        now() - interval '10 years');

create temp table claimed1 on commit drop as
select * from public.google_calendar_webhook_claim(1000, 60)
where user_id = '21a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1';
select is(
  (select array_agg(payload ->> 'n') from claimed1), array['1'],
  'The general claim takes only the user''s head.'
);
select ok(
  public.google_calendar_webhook_settle((select id from claimed1), (select lease_id from claimed1),
    'gone', 410, 'gone'),
  'The head is dead-lettered (410).'
);
select is(
  (select array_agg(payload ->> 'n') from public.google_calendar_webhook_claim(1000, 60)
    where user_id = '21a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1'),
  array['2'],
  'S1: after the head is dead-lettered, the general claim hands out the next event.'
);

-- ---------------------------------------------------------------------------
-- A backlog behind a leased head: none of it is claimed, and it does not hide other users
-- ---------------------------------------------------------------------------
insert into public.google_calendar_webhook_events
  (user_id, type, payload, next_attempt_at, lease_id, lease_until, attempts)
values ('21c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3', 'google_calendar.connect_failed', '{"n": 0}',
        now() - interval '10 years', gen_random_uuid(), now() + interval '1 minute', 1);
insert into public.google_calendar_webhook_events (user_id, type, payload, next_attempt_at)
select '21c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3', 'google_calendar.connect_failed',
  jsonb_build_object('n', i), now() - interval '10 years'
from generate_series(1, 200) i;
insert into public.google_calendar_webhook_events (user_id, type, payload, next_attempt_at)
values ('21b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2', 'google_calendar.connected', '{"n": 1}',
        now() - interval '9 years');

create temp table claimed2 on commit drop as
select * from public.google_calendar_webhook_claim(5, 60)
where user_id in ('21b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2', '21c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3');
select is(
  (select array_agg(user_id::text) from claimed2), array['21b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2'],
  'Behind a leased head, 200 due events of one user are not claimed, and another user''s head is.'
);
select is(
  (select count(*)::int from public.google_calendar_webhook_claim(10, 60,
    '21c3c3c3-c3c3-4c3c-8c3c-c3c3c3c3c3c3')),
  0,
  'The per-user claim gives nothing while the head is leased.'
);

-- ---------------------------------------------------------------------------
-- S10: claim_users twice without a settle: the second gets nothing while the lease lives
-- ---------------------------------------------------------------------------
insert into public.google_calendar_webhook_events (user_id, type, payload)
values ('21d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4', 'google_calendar.connected', '{"n": 1}');
select is(
  (select count(*)::int from public.google_calendar_webhook_claim_users(
    array['21d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4'::uuid], 60)),
  1,
  'claim_users leases the head.'
);
select is(
  (select count(*)::int from public.google_calendar_webhook_claim_users(
    array['21d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4'::uuid], 60)),
  0,
  'S10: a second claim_users for the same user gets nothing while the lease lives.'
);

-- ---------------------------------------------------------------------------
-- connect_failed: at most five pending per user, the newest carrying the latest outcome
-- ---------------------------------------------------------------------------
select set_config('google_calendar.webhook_woken', '', true);
select public.google_calendar_record_connect_failure('21b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2',
  'denied', 'consent_denied_' || i, true)
from generate_series(1, 12) i;
select is(
  (select count(*)::int from public.google_calendar_webhook_events
    where user_id = '21b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2'
      and type = 'google_calendar.connect_failed' and delivered_at is null and dead_at is null),
  5,
  '12 failed consents in a row leave 5 pending connect_failed events, not 12.'
);
select is(
  (select payload -> 'data' ->> 'reason' from public.google_calendar_webhook_events
    where user_id = '21b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2'
      and type = 'google_calendar.connect_failed' order by seq desc limit 1),
  'consent_denied_12',
  'The newest pending one carries the latest outcome.'
);
select is(
  current_setting('google_calendar.webhook_woken', true), '',
  'Events written by the functions'' RPCs do not wake delivery (the function delivers them).'
);

-- ---------------------------------------------------------------------------
-- Unsaved grants: queued for revocation with their Google account, key id read from the JWE
-- ---------------------------------------------------------------------------
select isnt(
  public.google_calendar_queue_revocation('21d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4', 'sub-t21',
    translate(rtrim(encode(convert_to('{"alg":"dir","enc":"A256GCM","kid":"k21"}', 'UTF8'),
      'base64'), '='), '+/', '-_') || '..aXY.cmVm.dGFn', 'partial_consent'),
  null,
  'An unsaved grant is queued.'
);
select is(
  (select google_sub || ' ' || key_id || ' ' || cause from public.google_calendar_revocations
    where user_id = '21d4d4d4-d4d4-4d4d-8d4d-d4d4d4d4d4d4'),
  'sub-t21 k21 partial_consent',
  'With its Google account (so the still-linked check applies) and its key id.'
);
select ok(
  not has_function_privilege('authenticated',
    'public.google_calendar_queue_revocation(uuid, text, text, text)', 'execute')
  and not has_function_privilege('anon',
    'public.google_calendar_queue_revocation(uuid, text, text, text)', 'execute'),
  'Only the service may queue a revocation.'
);

select * from finish();
rollback;
