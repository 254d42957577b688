-- The push queries find their work through indexes at scale (issue 23): on 1,000,000 channels
-- (one active per user, renewals spread over a week, 2 % replaced, a few opening), 1,000,000
-- sync states (1 % due) and 100,000 queued stops, each statement marked `-- plan-checked` in the
-- functions below is taken from the function's own source, prepared with the function's
-- parameters, EXPLAINed, and fails on any sequential scan of those tables (the technique of
-- google_maintenance_query_plans.test.sql). The pushes' own lookups are by primary key.
-- Everything runs in one transaction and is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;
select plan(11);

-- ---------------------------------------------------------------------------
-- Seed
-- ---------------------------------------------------------------------------
insert into public.google_calendar_channels
  (id, user_id, google_sub, token_hash, resource_id, expiration, state, renew_at, created_at)
select
  (lpad(to_hex(i), 8, '0') || '-c4a0-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
  (lpad(to_hex(i), 8, '0') || '-5eed-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
  's' || i,
  '0000000000000000000000000000000000000000000000000000000000000000',
  'r' || i,
  now() + make_interval(secs => (i::bigint * 7919 % 604800)),
  case when i % 50 = 0 then 'replaced' when i % 100000 = 1 then 'opening' else 'active' end,
  now() + make_interval(secs => (i::bigint * 7919 % 604800) - 86400),
  now() - make_interval(secs => i % 7200)
from generate_series(1, 1000000) i;
-- An opening row has no resource id nor expiration yet.
update public.google_calendar_channels set resource_id = null, expiration = null, renew_at = null
where state = 'opening';

insert into public.google_calendar_sync_state (user_id, google_sub, sync_token, requested_at)
select (lpad(to_hex(i), 8, '0') || '-5eed-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 's' || i, 't' || i,
  case when i % 100 = 0 then now() - make_interval(secs => i % 600) end
from generate_series(1, 1000000) i;

insert into public.google_calendar_channel_stops (channel_id, user_id, resource_id, cause, next_attempt_at)
select gen_random_uuid(), gen_random_uuid(), 'r' || i, 'replaced',
  now() + make_interval(secs => case when i % 10 = 0 then -(i % 600) else 60 + i % 21600 end)
from generate_series(1, 100000) i;

analyze public.google_calendar_channels;
analyze public.google_calendar_sync_state;
analyze public.google_calendar_channel_stops;

-- ---------------------------------------------------------------------------
-- Helpers (as in google_maintenance_query_plans.test.sql)
-- ---------------------------------------------------------------------------
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
    return next left(v_chunk, v_end - 1);
  end loop;
end
$$;

create function pg_temp.seq_scans_of(v_plan jsonb) returns text[]
language sql as $$
  select coalesce((
    select array_agg(distinct r #>> '{}')
    from jsonb_path_query(v_plan, 'strict $.** ? (@."Node Type" == "Seq Scan")."Relation Name"') r
    where r #>> '{}' in ('google_calendar_channels', 'google_calendar_sync_state',
                         'google_calendar_channel_stops')
  ), '{}')
$$;

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
  execute format('prepare plan_checked(%s) as %s', v_types, v_sql);
  execute format('explain (format json) execute plan_checked(%s)', p_args) into v_plan;
  deallocate all;
  return pg_temp.seq_scans_of(v_plan);
end
$$;

create function pg_temp.seq_scans(p_statement text) returns text[]
language plpgsql as $$
declare
  v_plan jsonb;
begin
  execute 'explain (format json) ' || p_statement into v_plan;
  return pg_temp.seq_scans_of(v_plan);
end
$$;

create temp table checked (fn regprocedure, statements int, args text) on commit drop;
insert into checked values
  ('public.google_calendar_channel_claim_renewals(integer, integer)', 1, $$100, 40$$),
  ('public.google_calendar_sync_claim(uuid[], integer, integer)', 1, $$null, 100, 120$$),
  ('public.google_calendar_channel_stop_claim(integer, integer)', 1, $$100, 30$$),
  ('public.google_calendar_channel_purge(integer)', 2, $$1000$$);

select is(
  (select array_agg(fn::text || ': ' || n || ' marked, ' || statements || ' expected' order by fn::text)
     from (select fn, statements, (select count(*)::int from pg_temp.marked_statements(fn)) n from checked) x
    where n <> statements),
  null,
  'Each checked function has the expected number of plan-checked statements.'
);

select is(
  pg_temp.seq_scans(c.fn, s.stmt, c.args),
  '{}'::text[],
  format('%s, plan-checked statement %s, uses indexes only at 1M rows.', c.fn::text, s.n)
)
from checked c, lateral pg_temp.marked_statements(c.fn) with ordinality as s(stmt, n)
order by c.fn::text, s.n;

-- ---------------------------------------------------------------------------
-- By key: the push's lookups and the grant trigger
-- ---------------------------------------------------------------------------
select is(
  pg_temp.seq_scans($$ select c.token_hash, c.resource_id, c.state from public.google_calendar_channels c
                       where c.id = '000003e8-c4a0-4000-8000-0000000003e8' $$),
  '{}'::text[],
  'The push''s channel lookup is by primary key.'
);
select is(
  pg_temp.seq_scans($$ select 1 from public.google_calendar_sync_state s
                       where s.user_id = '000003e8-5eed-4000-8000-0000000003e8' for update $$),
  '{}'::text[],
  'The push''s sync request is by primary key.'
);
select is(
  pg_temp.seq_scans($$ select c.id from public.google_calendar_channels c
                       where c.user_id = '000003e8-5eed-4000-8000-0000000003e8' and c.resource_id is not null $$),
  '{}'::text[],
  'The grant trigger finds a user''s channels by index.'
);
select is(
  pg_temp.seq_scans($$ update public.google_calendar_channel_stops s set access_token = 'x'
                       where s.user_id = '000003e8-5eed-4000-8000-0000000003e8' and s.access_token is null $$),
  '{}'::text[],
  'The grant trigger finds a user''s queued stops by index.'
);
select is(
  pg_temp.seq_scans($$ select s.user_id from public.google_calendar_sync_state s
                       where s.user_id = any (array['000003e8-5eed-4000-8000-0000000003e8'::uuid])
                         and s.requested_at <= now() $$),
  '{}'::text[],
  'A push''s own sync claim is by primary key.'
);

select * from finish();
rollback;
