-- Scheduled maintenance (issue 13); the refresh waiter is google_token_await_row
-- (20261125003000). Every query that
-- finds work is bounded and served by an index; a pgTAP test EXPLAINs each statement marked
-- `plan-checked` on a seeded table and fails on a sequential scan.

-- Keep-alive: takes the normal refresh lease (the same single flight as getGoogleAccessToken) on
-- up to p_limit grants whose refresh token was last used before p_used_before, oldest first.
-- Rows locked by another pass, or leased by a live caller, are skipped.
create function public.google_maintenance_claim_keepalive(
  p_used_before timestamptz,
  p_limit integer,
  p_lease_id uuid,
  p_lease_seconds integer
)
returns table (user_id uuid, grant_id uuid)
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return query
  -- plan-checked
  with due as (
    select t.user_id from public.google_calendar_tokens t
    where t.refresh_token_used_at < p_used_before
      and (t.refresh_lease_until is null or t.refresh_lease_until < now())
      and (t.refresh_token_expires_at is null or t.refresh_token_expires_at > now())
    order by t.refresh_token_used_at
    limit p_limit
    for update of t skip locked
  )
  update public.google_calendar_tokens g
  set refresh_lease_id = p_lease_id,
      refresh_lease_until = now() + make_interval(secs => p_lease_seconds)
  from due d
  where g.user_id = d.user_id
  returning g.user_id, g.grant_id;
end;
$$;

revoke execute on function public.google_maintenance_claim_keepalive(timestamptz, integer, uuid, integer)
  from public, anon, authenticated;
grant execute on function public.google_maintenance_claim_keepalive(timestamptz, integer, uuid, integer)
  to service_role;

-- Time-limited grants lapsing before p_before (and not yet lapsed): marks each once and writes
-- its google_calendar.expiring event in the same transaction (when webhooks are on).
create function public.google_maintenance_mark_expiring(
  p_before timestamptz,
  p_limit integer,
  p_webhooks boolean
)
returns table (user_id uuid, refresh_token_expires_at timestamptz)
language plpgsql
security invoker
set search_path = ''
as $$
declare
  r record;
begin
  perform public.google_calendar_sync_webhooks(p_webhooks);
  for r in
    -- plan-checked
    with due as (
      select t.user_id from public.google_calendar_tokens t
      where t.refresh_token_expires_at is not null
        and t.expiring_notified_at is null
        and t.refresh_token_expires_at < p_before
        and t.refresh_token_expires_at > now()
      order by t.refresh_token_expires_at
      limit p_limit
      for update of t skip locked
    )
    update public.google_calendar_tokens g
    set expiring_notified_at = now()
    from due d
    where g.user_id = d.user_id
    returning g.user_id, g.google_email, g.refresh_token_expires_at
  loop
    perform public.google_calendar_enqueue_event(
      r.user_id,
      'google_calendar.expiring',
      jsonb_build_object(
        'google_email', r.google_email,
        'refresh_token_expires_at',
        to_char(r.refresh_token_expires_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      )
    );
    user_id := r.user_id;
    refresh_token_expires_at := r.refresh_token_expires_at;
    return next;
  end loop;
end;
$$;

revoke execute on function public.google_maintenance_mark_expiring(timestamptz, integer, boolean)
  from public, anon, authenticated;
grant execute on function public.google_maintenance_mark_expiring(timestamptz, integer, boolean)
  to service_role;

-- Lapsed time-limited grants, to delete through google_calendar_delete_grant(cause
-- 'reconnect_required', reason 'google_grant_expired', p_needs_revocation false).
create function public.google_maintenance_expired_grants(p_limit integer)
returns table (user_id uuid, grant_id uuid)
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return query
  -- plan-checked
  select t.user_id, t.grant_id from public.google_calendar_tokens t
  where t.refresh_token_expires_at is not null and t.refresh_token_expires_at <= now()
  order by t.refresh_token_expires_at
  limit p_limit;
end;
$$;

revoke execute on function public.google_maintenance_expired_grants(integer) from public, anon, authenticated;
grant execute on function public.google_maintenance_expired_grants(integer) to service_role;

-- Re-wrap: grants whose refresh token is under another key than p_current_key_id. Two ranges,
-- because a btree cannot serve `<>`.
create function public.google_maintenance_rewrap_batch(p_current_key_id text, p_limit integer)
returns table (
  user_id uuid,
  grant_id uuid,
  key_id text,
  access_token text,
  refresh_token text
)
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return query
  -- plan-checked
  select t.user_id, t.grant_id, t.key_id, t.access_token, t.refresh_token
  from public.google_calendar_tokens t
  where t.key_id < p_current_key_id or t.key_id > p_current_key_id
  limit p_limit;
end;
$$;

revoke execute on function public.google_maintenance_rewrap_batch(text, integer) from public, anon, authenticated;
grant execute on function public.google_maintenance_rewrap_batch(text, integer) to service_role;

-- Stores re-wrapped ciphertexts only if nothing changed since they were read: same grant, same
-- key, same access token (a refresh in between wins; the next pass tries again).
create function public.google_maintenance_rewrap_token(
  p_user_id uuid,
  p_grant_id uuid,
  p_old_key_id text,
  p_old_access_token text,
  p_access_token text,
  p_refresh_token text
)
returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
begin
  update public.google_calendar_tokens t
  set access_token = p_access_token,
      refresh_token = p_refresh_token
  where t.user_id = p_user_id
    and t.grant_id = p_grant_id
    and t.key_id = p_old_key_id
    and t.access_token = p_old_access_token;
  return found;
end;
$$;

revoke execute on function public.google_maintenance_rewrap_token(uuid, uuid, text, text, text, text)
  from public, anon, authenticated;
grant execute on function public.google_maintenance_rewrap_token(uuid, uuid, text, text, text, text)
  to service_role;

-- Rows per encryption key id, tokens and revocation queue, so the operator knows when an old key
-- can go. Keys other than p_current_key_id are counted exactly, through the key_id index (two
-- ranges around the current key: they hold only the rows still to re-wrap, 0 once done). The
-- current key's count is an estimate (estimated = true): the table's row estimate from the
-- statistics minus the exact rows under other keys, because an exact count of nearly every row
-- reads the whole table or index at 1M rows. Without p_current_key_id every key is counted
-- exactly, which reads every row (a slow path for an operator's ad hoc look, not for a pass).
create function public.google_maintenance_key_counts(p_current_key_id text default null)
returns table (key_id text, tokens bigint, revocations bigint, estimated boolean)
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  if p_current_key_id is null then
    return query
    with all_tokens as (
      select t.key_id, count(*) as n from public.google_calendar_tokens t
      where t.key_id is not null group by t.key_id
    ),
    all_queue as (
      select r.key_id, count(*) as n from public.google_calendar_revocations r
      where r.key_id is not null group by r.key_id
    )
    select coalesce(a.key_id, b.key_id), coalesce(a.n, 0), coalesce(b.n, 0), false
    from all_tokens a full join all_queue b on a.key_id = b.key_id
    order by 1;
    return;
  end if;

  return query
  -- plan-checked
  with old_tokens as (
    select t.key_id, count(*) as n from public.google_calendar_tokens t
    where t.key_id < p_current_key_id or t.key_id > p_current_key_id
    group by t.key_id
  ),
  old_queue as (
    select r.key_id, count(*) as n from public.google_calendar_revocations r
    where r.key_id < p_current_key_id or r.key_id > p_current_key_id
    group by r.key_id
  ),
  old as (
    select coalesce(a.key_id, b.key_id) as key_id, coalesce(a.n, 0) as tokens, coalesce(b.n, 0) as revocations
    from old_tokens a full join old_queue b on a.key_id = b.key_id
  )
  select o.key_id, o.tokens, o.revocations, false from old o
  union all
  select p_current_key_id,
    greatest((select c.reltuples::bigint from pg_catalog.pg_class c
               where c.oid = 'public.google_calendar_tokens'::regclass)
             - (select coalesce(sum(o.tokens), 0) from old o), 0)::bigint,
    greatest((select c.reltuples::bigint from pg_catalog.pg_class c
               where c.oid = 'public.google_calendar_revocations'::regclass)
             - (select coalesce(sum(o.revocations), 0) from old o), 0)::bigint,
    true
  order by 4, 1;
end;
$$;

revoke execute on function public.google_maintenance_key_counts(text) from public, anon, authenticated;
grant execute on function public.google_maintenance_key_counts(text) to service_role;

-- Housekeeping: up to p_limit expired pending flows.
create function public.google_maintenance_purge_flows(p_limit integer)
returns integer
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v integer;
begin
  -- plan-checked
  delete from public.google_oauth_pending_flows f
  where f.jti = any (array(
    select p.jti from public.google_oauth_pending_flows p
    where p.expires_at <= now()
    order by p.expires_at
    limit p_limit
  ));
  get diagnostics v = row_count;
  return v;
end;
$$;

revoke execute on function public.google_maintenance_purge_flows(integer) from public, anon, authenticated;
grant execute on function public.google_maintenance_purge_flows(integer) to service_role;

-- What is due next: earliest times (one index probe each) and counts capped at 10,000 (bounded
-- index scans), so it costs the same at 1M rows as at 10k.
create function public.google_maintenance_due()
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v jsonb;
begin
  -- plan-checked
  select jsonb_build_object(
    'oldest_refresh_token_used_at',
      (select min(t.refresh_token_used_at) from public.google_calendar_tokens t),
    'next_expiring_at',
      (select min(t.refresh_token_expires_at) from public.google_calendar_tokens t
        where t.refresh_token_expires_at is not null and t.expiring_notified_at is null
          and t.refresh_token_expires_at > now()),
    'next_expiry_at',
      (select min(t.refresh_token_expires_at) from public.google_calendar_tokens t
        where t.refresh_token_expires_at is not null),
    'expired_grants',
      (select count(*) from (select 1 from public.google_calendar_tokens t
        where t.refresh_token_expires_at is not null and t.refresh_token_expires_at <= now()
        limit 10000) x),
    'revocations_due',
      (select count(*) from (select 1 from public.google_calendar_revocations r
        where r.next_attempt_at <= now() limit 10000) x),
    'next_revocation_at',
      (select min(r.next_attempt_at) from public.google_calendar_revocations r),
    'webhooks_due',
      (select count(*) from (select 1 from public.google_calendar_webhook_events e
        where e.delivered_at is null and e.dead_at is null and e.next_attempt_at <= now()
        limit 10000) x),
    'next_webhook_at',
      (select min(e.next_attempt_at) from public.google_calendar_webhook_events e
        where e.delivered_at is null and e.dead_at is null),
    'expired_flows',
      (select count(*) from (select 1 from public.google_oauth_pending_flows f
        where f.expires_at <= now() limit 10000) x),
    'counts_capped_at', 10000
  ) into v;
  return v;
end;
$$;

revoke execute on function public.google_maintenance_due() from public, anon, authenticated;
grant execute on function public.google_maintenance_due() to service_role;
