-- Every maintenance and claim query uses an index (issue 13): on tables seeded with 30,000
-- connected users (JWE-looking ciphertexts with a kid header), 30,000 webhook events, 20,000
-- queued revocations and 20,000 pending flows, each statement marked `-- plan-checked` in the
-- functions below is taken from the function's own source (so the test checks the code that
-- runs, not a copy), prepared with the function's parameters, EXPLAINed, and fails on any
-- sequential scan of those tables. A few ad hoc queries the RPCs run by key are checked too.
-- Everything runs in one transaction and is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(22);

-- ---------------------------------------------------------------------------
-- Seed: only this test's rows. Whatever earlier tests left in these tables (a stack reused
-- across runs) is deleted first, inside this transaction (rolled back at the end), so the
-- statistics and the plans are those of the seed below and nothing else.
-- ---------------------------------------------------------------------------
delete from public.google_calendar_tokens;
delete from public.google_calendar_webhook_events;
delete from public.google_calendar_revocations;
delete from public.google_oauth_pending_flows;
-- Webhooks off for this transaction: with them on (any stack whose functions ran with
-- BOT_WEBHOOK_URL), seeding 30,000 grants would also queue 30,000 pending connected events, and
-- the outbox's plans would be planned for that table instead of the seeded one.
select public.google_calendar_sync_webhooks(false);
create function pg_temp.jwe(p_kid text, p_n int) returns text
language sql immutable as $$
  select translate(rtrim(encode(convert_to('{"alg":"dir","enc":"A256GCM","kid":"' || p_kid || '"}', 'UTF8'), 'base64'), '='), '+/', '-_')
    || '..' || md5(p_n::text) || '.' || md5('c' || p_n::text) || md5('d' || p_n::text) || '.' || md5('t' || p_n::text)
$$;

create temp table seed_users on commit drop as
select i, (lpad(to_hex(i), 8, '0') || '-5eed-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid as id
from generate_series(1, 30000) i;

insert into auth.users (id, email) select id, 'seed-' || i || '@example.test' from seed_users;

-- Keys: 95 % under the current key plan-k2, 5 % under the old plan-k1. Last use spread over 60
-- days; one in ten grants time-limited, lapsing between 2 days ago and 30 days ahead.
insert into public.google_calendar_tokens
  (user_id, access_token, refresh_token, token_expiry, scopes, google_sub, google_email,
   refresh_token_used_at, refresh_token_expires_at, expiring_notified_at)
select id,
  pg_temp.jwe(case when i % 20 = 0 then 'plan-k1' else 'plan-k2' end, -i),
  pg_temp.jwe(case when i % 20 = 0 then 'plan-k1' else 'plan-k2' end, i),
  now() + interval '30 minutes',
  array['https://www.googleapis.com/auth/calendar.events'],
  'sub-' || (i % 29000), 'seed-' || i || '@gmail.test',
  now() - make_interval(secs => (i::bigint * 7919 % 5184000)),
  case when i % 10 = 0 then now() + make_interval(secs => (i::bigint * 104729 % 2764800) - 172800) end,
  case when i % 40 = 0 then now() - interval '1 day' end
from seed_users;

-- Events: 90 % delivered, 4 % dead, 6 % pending (some due, some backing off).
insert into public.google_calendar_webhook_events
  (user_id, type, payload, created_at, attempts, next_attempt_at, delivered_at, dead_at)
select u.id, 'google_calendar.connected', jsonb_build_object('type', 'google_calendar.connected'),
  now() - make_interval(secs => 30000 - i),
  1,
  now() + make_interval(secs => case when i % 3 = 0 then 600 else -60 end),
  case when i % 100 < 90 then now() - make_interval(secs => i) end,
  case when i % 100 between 90 and 93 then now() - make_interval(secs => i) end
from seed_users u;

-- Revocations: a backlog after a mass deletion, one in ten due now, the rest backing off.
insert into public.google_calendar_revocations (user_id, google_sub, refresh_token, cause, next_attempt_at)
select u.id, 'sub-' || i, pg_temp.jwe(case when i % 20 = 0 then 'plan-k1' else 'plan-k2' end, i + 100000), 'deleted',
  now() + make_interval(secs => case when i % 10 = 0 then -(i % 600) else 60 + i % 21600 end)
from seed_users u where u.i <= 20000;

-- Pending flows: one per user for 20,000 users, one in ten expired.
insert into public.google_oauth_pending_flows (jti, user_id, code_verifier, expires_at, created_at)
select gen_random_uuid(), u.id, 'v' || i, now() + make_interval(secs => case when i % 10 = 0 then -(i % 3600) else 1 + i % 600 end),
  now() - interval '5 minutes'
from seed_users u where u.i between 10001 and 30000;

analyze auth.users;
analyze public.google_calendar_tokens;
analyze public.google_calendar_webhook_events;
analyze public.google_calendar_revocations;
analyze public.google_oauth_pending_flows;

-- Sequential scans priced out: a Seq Scan left in a plan means no index can serve the statement.
-- Otherwise the choice between a Seq Scan and an index would hang on this transaction's own
-- costs (30,000 rows just inserted, none all-visible yet, so every index-only read is priced as
-- a heap fetch) and on whatever else the tables hold: tests 9 and 18 flipped with both.
set local enable_seqscan = off;

-- ---------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------
-- The statements after each `-- plan-checked` marker in a function's source, in order; a
-- statement ends at its `;` or, for a `for … in <query> loop`, at `loop`.
create function pg_temp.marked_statements(p_fn regprocedure) returns setof text
language plpgsql as $$
declare
  v_chunk text;
  v_end int;
begin
  for v_chunk in
    select c from regexp_split_to_table((select prosrc from pg_proc where oid = p_fn), '-- plan-checked\n')
      with ordinality as s(c, n) where n > 1 order by n
  loop
    v_end := regexp_instr(v_chunk, ';|\mloop\M');
    v_chunk := left(v_chunk, v_end - 1);
    -- `select … into v` is PL/pgSQL, not SQL.
    v_chunk := regexp_replace(v_chunk, '\s+into\s+v\s*$', '');
    return next v_chunk;
  end loop;
end
$$;

-- EXPLAINs a statement of p_fn with its parameters bound to p_args (SQL literals, in order);
-- returns the big tables it reads with a sequential scan (empty when every read uses an index).
create function pg_temp.seq_scans(p_fn regprocedure, p_statement text, p_args text) returns text[]
language plpgsql as $$
declare
  v_sql text := p_statement;
  v_types text;
  v_plan jsonb;
  v_names text[];
  v_n int;
  k int;
begin
  select p.proargnames, p.pronargs, (select string_agg(format_type(t, null), ', ' order by o)
                                        from unnest(p.proargtypes) with ordinality as a(t, o))
    into v_names, v_n, v_types
  from pg_proc p where p.oid = p_fn;
  for k in 1..v_n loop
    v_sql := regexp_replace(v_sql, '\m' || v_names[k] || '\M', '$' || k, 'g');
  end loop;
  deallocate all;
  if v_n > 0 then
    execute format('prepare plan_checked(%s) as %s', v_types, v_sql);
    execute format('explain (format json) execute plan_checked(%s)', p_args) into v_plan;
  else
    execute format('prepare plan_checked as %s', v_sql);
    execute 'explain (format json) execute plan_checked' into v_plan;
  end if;
  deallocate all;
  return coalesce((
    select array_agg(distinct r #>> '{}')
    from jsonb_path_query(v_plan, 'strict $.** ? (@."Node Type" == "Seq Scan")."Relation Name"') r
    where r #>> '{}' in ('google_calendar_tokens', 'google_calendar_webhook_events',
                         'google_calendar_revocations', 'google_oauth_pending_flows', 'users')
  ), '{}');
end
$$;

-- EXPLAINs an ad hoc statement the same way.
create function pg_temp.seq_scans(p_statement text) returns text[]
language plpgsql as $$
declare
  v_plan jsonb;
begin
  execute 'explain (format json) ' || p_statement into v_plan;
  return coalesce((
    select array_agg(distinct r #>> '{}')
    from jsonb_path_query(v_plan, 'strict $.** ? (@."Node Type" == "Seq Scan")."Relation Name"') r
    where r #>> '{}' in ('google_calendar_tokens', 'google_calendar_webhook_events',
                         'google_calendar_revocations', 'google_oauth_pending_flows', 'users')
  ), '{}');
end
$$;

-- The functions, their marked statements' count and the arguments to plan them with.
create temp table checked (fn regprocedure, statements int, args text) on commit drop;
insert into checked values
  ('public.google_oauth_begin_flow(uuid, uuid, text, timestamptz, text)', 2,
   $$'00002711-5eed-4000-8000-000000002711', gen_random_uuid(), 'v', now() + interval '10 minutes', null$$),
  ('public.google_calendar_webhook_claim(integer, integer, uuid)', 2,
   $$100, 30, '00000064-5eed-4000-8000-000000000064'$$),
  ('public.google_calendar_webhook_purge(interval, integer, interval)', 2, $$'7 days', 1000, '30 days'$$),
  ('public.google_calendar_revocation_claim(integer, integer)', 1, $$100, 30$$),
  ('public.google_calendar_revocation_rewrap_batch(text, integer)', 1, $$'plan-k2', 200$$),
  ('public.google_maintenance_claim_keepalive(timestamptz, integer, uuid, integer, uuid[])', 1,
   $$now() - interval '30 days', 100, gen_random_uuid(), 45, array[gen_random_uuid()]$$),
  ('public.google_maintenance_mark_expiring(timestamptz, integer, boolean)', 1, $$now() + interval '48 hours', 100, true$$),
  ('public.google_maintenance_expired_grants(integer)', 1, $$100$$),
  ('public.google_maintenance_rewrap_batch(text, integer)', 1, $$'plan-k2', 200$$),
  ('public.google_maintenance_rewrap_batch_held(text[], integer)', 1, $$array['plan-k1'], 200$$),
  ('public.google_calendar_revocation_rewrap_batch_held(text[], integer)', 1, $$array['plan-k1'], 200$$),
  ('public.google_maintenance_key_counts(text)', 1, $$'plan-k2'$$),
  ('public.google_maintenance_purge_flows(integer)', 1, $$500$$),
  ('public.google_maintenance_due()', 1, '');

select is(
  (select array_agg(fn::text || ': ' || n || ' marked, ' || statements || ' expected' order by fn::text)
     from (select fn, statements, (select count(*)::int from pg_temp.marked_statements(fn)) n from checked) x
    where n <> statements),
  null,
  'Each checked function has the expected number of plan-checked statements.'
);

-- ---------------------------------------------------------------------------
-- One assertion per marked statement
-- ---------------------------------------------------------------------------
select is(
  pg_temp.seq_scans(c.fn, s.stmt, c.args),
  '{}'::text[],
  format('%s, plan-checked statement %s, uses indexes only on the seeded tables.', c.fn::text, s.n)
)
from checked c, lateral pg_temp.marked_statements(c.fn) with ordinality as s(stmt, n)
order by c.fn::text, s.n;

-- ---------------------------------------------------------------------------
-- Ad hoc: what the RPCs and views do by key
-- ---------------------------------------------------------------------------
select is(
  pg_temp.seq_scans($$ select 1 from public.google_calendar_tokens o
                       where o.google_sub = 'sub-77' and o.user_id <> '0000004d-5eed-4000-8000-00000000004d' $$),
  '{}'::text[],
  'Linked-to-other-users (save_grant, the connected trigger) uses the google_sub index.'
);
select is(
  pg_temp.seq_scans($$ select * from public.google_calendar_webhook_backlog $$),
  '{}'::text[],
  'The backlog view uses the partial indexes.'
);
select is(
  pg_temp.seq_scans($$ select 1 from public.google_calendar_webhook_events h
                       where h.user_id = '00000064-5eed-4000-8000-000000000064' and h.seq < 1000
                         and h.delivered_at is null and h.dead_at is null $$),
  '{}'::text[],
  'The per-user head check uses the pending-by-user index.'
);

select is(
  pg_temp.seq_scans($$ select 1 from public.google_calendar_webhook_events e
                       where e.payload ? 'no-index-serves-this' $$),
  array['google_calendar_webhook_events'],
  'A statement no index serves is still reported (the check can fail).'
);

select * from finish();
rollback;
