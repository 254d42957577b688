-- Lifecycle webhooks (issue 12): a transactional outbox. Every event row is written in the
-- transaction that makes the change it reports (by trigger or by the RPC making the change);
-- a runner claims, delivers and settles rows at least once, in order per user.

-- ---------------------------------------------------------------------------------------------
-- Webhooks on/off: one row. Every event-writing RPC passes p_webhooks (the functions' config) and
-- syncs this row when it differs, so triggers fired by other paths (a user deleted from
-- auth.users, SQL by hand) follow the last configuration the functions ran with.
-- ---------------------------------------------------------------------------------------------
create table public.google_calendar_webhook_settings (
  id boolean primary key default true check (id),
  enabled boolean not null default false,
  updated_at timestamptz not null default now()
);

comment on table public.google_calendar_webhook_settings is
  'Single row: whether lifecycle events are queued. Synced by every event-writing RPC.';

insert into public.google_calendar_webhook_settings (id, enabled) values (true, false);

alter table public.google_calendar_webhook_settings enable row level security;
revoke all on table public.google_calendar_webhook_settings from anon, authenticated;
grant select, update on table public.google_calendar_webhook_settings to service_role;

-- The RPC's choice wins for the rest of its transaction (a transaction-local setting), and the
-- stored row is written only when it changes, so the common call takes no row lock.
create function public.google_calendar_sync_webhooks(p_webhooks boolean)
returns void
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if p_webhooks is null then
    return;
  end if;
  perform set_config('google_calendar.webhooks', case when p_webhooks then 'on' else 'off' end, true);
  update public.google_calendar_webhook_settings s
  set enabled = p_webhooks, updated_at = now()
  where s.id and s.enabled is distinct from p_webhooks;
end;
$$;

revoke execute on function public.google_calendar_sync_webhooks(boolean) from public, anon, authenticated;
grant execute on function public.google_calendar_sync_webhooks(boolean) to service_role;

create function public.google_calendar_webhooks_enabled()
returns boolean
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v text := current_setting('google_calendar.webhooks', true);
begin
  if v in ('on', 'off') then
    return v = 'on';
  end if;
  return coalesce((select s.enabled from public.google_calendar_webhook_settings s where s.id), false);
end;
$$;

revoke execute on function public.google_calendar_webhooks_enabled() from public, anon, authenticated;
grant execute on function public.google_calendar_webhooks_enabled() to service_role;

-- ---------------------------------------------------------------------------------------------
-- The outbox
-- ---------------------------------------------------------------------------------------------
create table public.google_calendar_webhook_events (
  -- The Standard Webhooks `webhook-id` is 'msg_' || replace(id::text, '-', ''), returned by the
  -- claim as webhook_id: the same on every attempt.
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity,
  -- No foreign key: the events of a deleted user must outlive the user.
  user_id uuid not null,
  type text not null check (type in (
    'google_calendar.connected',
    'google_calendar.connect_failed',
    'google_calendar.reconnect_required',
    'google_calendar.disconnected',
    'google_calendar.expiring'
  )),
  -- The whole body: {type, timestamp, data: {user_id, …}}. Never a token, code, state or secret.
  payload jsonb not null,
  created_at timestamptz not null default now(),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  lease_id uuid,
  lease_until timestamptz,
  delivered_at timestamptz,
  dead_at timestamptz,
  last_status integer,
  -- Short and ours (e.g. 'timeout', 'http_500', 'gone'); never a response body.
  last_error text,
  unique (seq)
);

comment on table public.google_calendar_webhook_events is
  'Outbox of lifecycle webhooks, written in the transaction of the change. Service only.';

-- Pending = neither delivered nor dead. Per user the head (lowest seq) blocks the rest.
create index google_calendar_webhook_events_user_pending_idx
  on public.google_calendar_webhook_events (user_id, seq)
  where delivered_at is null and dead_at is null;
create index google_calendar_webhook_events_due_idx
  on public.google_calendar_webhook_events (next_attempt_at, seq)
  where delivered_at is null and dead_at is null;
create index google_calendar_webhook_events_delivered_idx
  on public.google_calendar_webhook_events (delivered_at)
  where delivered_at is not null;
create index google_calendar_webhook_events_dead_idx
  on public.google_calendar_webhook_events (dead_at)
  where dead_at is not null;

alter table public.google_calendar_webhook_events enable row level security;
revoke all on table public.google_calendar_webhook_events from anon, authenticated;
revoke all on sequence public.google_calendar_webhook_events_seq_seq from anon, authenticated;
grant select, insert, update, delete on table public.google_calendar_webhook_events to service_role;
grant usage on sequence public.google_calendar_webhook_events_seq_seq to service_role;

-- Writes one event when webhooks are on; the caller's transaction is the change's transaction.
-- Returns the event id, or null when webhooks are off.
create function public.google_calendar_enqueue_event(p_user_id uuid, p_type text, p_data jsonb)
returns uuid
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_id uuid;
begin
  if not public.google_calendar_webhooks_enabled() then
    return null;
  end if;
  insert into public.google_calendar_webhook_events (user_id, type, payload)
  values (
    p_user_id,
    p_type,
    jsonb_build_object(
      'type', p_type,
      'timestamp', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'data', jsonb_build_object('user_id', p_user_id) || coalesce(p_data, '{}'::jsonb)
    )
  )
  returning id into v_id;
  return v_id;
end;
$$;

revoke execute on function public.google_calendar_enqueue_event(uuid, text, jsonb) from public, anon, authenticated;
grant execute on function public.google_calendar_enqueue_event(uuid, text, jsonb) to service_role;

-- connected: a new grant (insert) or a re-consent (update of grant_id), by whatever path.
create function public.google_calendar_tokens_connected_event()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and new.grant_id is not distinct from old.grant_id then
    return null;
  end if;
  perform public.google_calendar_enqueue_event(
    new.user_id,
    'google_calendar.connected',
    jsonb_build_object(
      'google_email', new.google_email,
      'google_sub', new.google_sub,
      'scopes', coalesce(to_jsonb(new.scopes), '[]'::jsonb),
      'reconnected', tg_op = 'UPDATE',
      'google_account_linked_to_other_users', new.google_sub is not null and exists (
        select 1 from public.google_calendar_tokens o
        where o.google_sub = new.google_sub and o.user_id <> new.user_id
      )
    )
  );
  return null;
end;
$$;

revoke execute on function public.google_calendar_tokens_connected_event() from public, anon, authenticated;

create trigger google_calendar_tokens_connected_event
  after insert or update of grant_id on public.google_calendar_tokens
  for each row execute function public.google_calendar_tokens_connected_event();

-- ---------------------------------------------------------------------------------------------
-- Token writes through one RPC, so the grant and its connected event share a transaction.
-- ---------------------------------------------------------------------------------------------
-- Stores a consent's grant. A null p_refresh_token keeps the stored refresh token, but only for
-- the grant p_keep_grant_id of the same Google account; otherwise nothing is stored, the row is
-- marked google_refresh_token_missing (the next link forces consent) and saved is false.
create function public.google_calendar_save_grant(
  p_user_id uuid,
  p_access_token text,
  p_refresh_token text,
  p_keep_grant_id uuid,
  p_token_expiry timestamptz,
  p_refresh_token_expires_at timestamptz,
  p_scopes text[],
  p_google_sub text,
  p_google_email text,
  p_webhooks boolean
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_grant_id uuid;
  v_reconnected boolean;
begin
  perform public.google_calendar_sync_webhooks(p_webhooks);

  if p_refresh_token is null then
    update public.google_calendar_tokens t
    set access_token = p_access_token,
        grant_id = gen_random_uuid(),
        connected_at = now(),
        token_expiry = p_token_expiry,
        refresh_token_expires_at = coalesce(p_refresh_token_expires_at, t.refresh_token_expires_at),
        scopes = p_scopes,
        google_email = p_google_email,
        refresh_lease_id = null,
        refresh_lease_until = null,
        last_refresh_error = null,
        expiring_notified_at = null,
        updated_at = now()
    where t.user_id = p_user_id
      and p_keep_grant_id is not null
      and t.grant_id = p_keep_grant_id
      and t.google_sub = p_google_sub
    returning t.grant_id into v_grant_id;

    if v_grant_id is null then
      update public.google_calendar_tokens t
      set last_refresh_error = 'google_refresh_token_missing', updated_at = now()
      where t.user_id = p_user_id;
      return jsonb_build_object(
        'saved', false, 'reconnected', found, 'grant_id', null,
        'google_account_linked_to_other_users', false
      );
    end if;
    v_reconnected := true;
  else
    insert into public.google_calendar_tokens as t (
      user_id, access_token, refresh_token, token_expiry, refresh_token_expires_at, scopes,
      google_sub, google_email, refresh_token_used_at
    )
    values (
      p_user_id, p_access_token, p_refresh_token, p_token_expiry, p_refresh_token_expires_at,
      p_scopes, p_google_sub, p_google_email, now()
    )
    on conflict (user_id) do update
    set access_token = excluded.access_token,
        refresh_token = excluded.refresh_token,
        grant_id = excluded.grant_id,
        connected_at = now(),
        token_expiry = excluded.token_expiry,
        refresh_token_expires_at = excluded.refresh_token_expires_at,
        refresh_token_used_at = now(),
        scopes = excluded.scopes,
        google_sub = excluded.google_sub,
        google_email = excluded.google_email,
        refresh_lease_id = null,
        refresh_lease_until = null,
        last_refresh_error = null,
        expiring_notified_at = null,
        updated_at = now()
    -- xmax is set on the row version an ON CONFLICT update wrote, 0 on a fresh insert.
    returning t.grant_id, (t.xmax <> '0'::xid) into v_grant_id, v_reconnected;
  end if;

  return jsonb_build_object(
    'saved', true,
    'reconnected', v_reconnected,
    'grant_id', v_grant_id,
    'google_account_linked_to_other_users', p_google_sub is not null and exists (
      select 1 from public.google_calendar_tokens o
      where o.google_sub = p_google_sub and o.user_id <> p_user_id
    )
  );
end;
$$;

revoke execute on function public.google_calendar_save_grant(uuid, text, text, uuid, timestamptz, timestamptz, text[], text, text, boolean)
  from public, anon, authenticated;
grant execute on function public.google_calendar_save_grant(uuid, text, text, uuid, timestamptz, timestamptz, text[], text, text, boolean)
  to service_role;

-- connect_failed: only called after a verified state, so a stranger cannot trigger it.
create function public.google_calendar_record_connect_failure(
  p_user_id uuid,
  p_result text,
  p_reason text,
  p_webhooks boolean
)
returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
begin
  perform public.google_calendar_sync_webhooks(p_webhooks);
  return public.google_calendar_enqueue_event(
    p_user_id,
    'google_calendar.connect_failed',
    jsonb_build_object('result', p_result, 'reason', p_reason)
  ) is not null;
end;
$$;

revoke execute on function public.google_calendar_record_connect_failure(uuid, text, text, boolean)
  from public, anon, authenticated;
grant execute on function public.google_calendar_record_connect_failure(uuid, text, text, boolean)
  to service_role;

-- ---------------------------------------------------------------------------------------------
-- Delivery
-- ---------------------------------------------------------------------------------------------
-- Leases up to p_limit due events. Per user only the head (lowest seq among pending) is
-- claimable, so one user's events go out one at a time and in order; a dead event no longer
-- counts as pending, so it stops blocking. Rows another claimer is locking are skipped, and a
-- leased row is not due until its lease lapses: two claimers never get the same row.
create function public.google_calendar_webhook_claim(
  p_limit integer,
  p_lease_seconds integer,
  p_user_id uuid default null
)
returns table (
  id uuid,
  seq bigint,
  user_id uuid,
  type text,
  payload jsonb,
  attempts integer,
  lease_id uuid,
  webhook_id text
)
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if p_user_id is null then
    return query
    -- plan-checked
    with claimable as (
      select e.id from public.google_calendar_webhook_events e
      where e.delivered_at is null and e.dead_at is null
        and e.next_attempt_at <= now()
        and (e.lease_until is null or e.lease_until < now())
        and not exists (
          select 1 from public.google_calendar_webhook_events h
          where h.user_id = e.user_id and h.seq < e.seq
            and h.delivered_at is null and h.dead_at is null
        )
      order by e.next_attempt_at, e.seq
      limit p_limit
      for update of e skip locked
    )
    update public.google_calendar_webhook_events w
    set lease_id = gen_random_uuid(),
        lease_until = now() + make_interval(secs => p_lease_seconds),
        attempts = w.attempts + 1
    from claimable c
    where w.id = c.id
    returning w.id, w.seq, w.user_id, w.type, w.payload, w.attempts, w.lease_id,
      'msg_' || replace(w.id::text, '-', '');
  else
    return query
    -- plan-checked
    with claimable as (
      select e.id from public.google_calendar_webhook_events e
      where e.user_id = p_user_id
        and e.delivered_at is null and e.dead_at is null
        and e.next_attempt_at <= now()
        and (e.lease_until is null or e.lease_until < now())
        and not exists (
          select 1 from public.google_calendar_webhook_events h
          where h.user_id = e.user_id and h.seq < e.seq
            and h.delivered_at is null and h.dead_at is null
        )
      order by e.seq
      limit p_limit
      for update of e skip locked
    )
    update public.google_calendar_webhook_events w
    set lease_id = gen_random_uuid(),
        lease_until = now() + make_interval(secs => p_lease_seconds),
        attempts = w.attempts + 1
    from claimable c
    where w.id = c.id
    returning w.id, w.seq, w.user_id, w.type, w.payload, w.attempts, w.lease_id,
      'msg_' || replace(w.id::text, '-', '');
  end if;
end;
$$;

revoke execute on function public.google_calendar_webhook_claim(integer, integer, uuid) from public, anon, authenticated;
grant execute on function public.google_calendar_webhook_claim(integer, integer, uuid) to service_role;

-- Records an attempt's outcome; only the lease holder can (true when it did).
--   delivered: 2xx. gone: 410, the receiver wants no more (dead at once).
--   retry: backoff 30 s × 2^(attempts-1), capped at 1 h, ±25 % jitter; dead once the event is
--   older than p_max_age.
create function public.google_calendar_webhook_settle(
  p_id uuid,
  p_lease_id uuid,
  p_outcome text,
  p_status integer,
  p_error text,
  p_max_age interval default '24 hours'
)
returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if p_outcome not in ('delivered', 'retry', 'gone') then
    raise exception 'unknown outcome %', p_outcome using errcode = '22023';
  end if;
  update public.google_calendar_webhook_events e
  set lease_id = null,
      lease_until = null,
      last_status = p_status,
      last_error = case
        when p_outcome = 'delivered' then null
        when p_outcome = 'gone' then 'gone'
        else left(p_error, 200)
      end,
      delivered_at = case when p_outcome = 'delivered' then now() end,
      dead_at = case
        when p_outcome = 'gone' then now()
        when p_outcome = 'retry' and e.created_at <= now() - p_max_age then now()
      end,
      next_attempt_at = case
        when p_outcome = 'retry' then now() + make_interval(secs =>
          least(30 * power(2, greatest(e.attempts - 1, 0)), 3600) * (0.75 + random() * 0.5))
        else e.next_attempt_at
      end
  where e.id = p_id
    and e.lease_id = p_lease_id
    and e.delivered_at is null
    and e.dead_at is null;
  return found;
end;
$$;

revoke execute on function public.google_calendar_webhook_settle(uuid, uuid, text, integer, text, interval)
  from public, anon, authenticated;
grant execute on function public.google_calendar_webhook_settle(uuid, uuid, text, integer, text, interval)
  to service_role;

-- Deletes up to p_limit delivered events older than p_retention, and up to p_limit dead ones
-- older than p_dead_retention (kept longer: an operator may want to look at them).
create function public.google_calendar_webhook_purge(
  p_retention interval,
  p_limit integer,
  p_dead_retention interval default '30 days'
)
returns integer
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_delivered integer;
  v_dead integer;
begin
  -- plan-checked
  delete from public.google_calendar_webhook_events e
  where e.id = any (array(
    select d.id from public.google_calendar_webhook_events d
    where d.delivered_at is not null and d.delivered_at < now() - p_retention
    order by d.delivered_at
    limit p_limit
  ));
  get diagnostics v_delivered = row_count;

  -- plan-checked
  delete from public.google_calendar_webhook_events e
  where e.id = any (array(
    select d.id from public.google_calendar_webhook_events d
    where d.dead_at is not null and d.dead_at < now() - p_dead_retention
    order by d.dead_at
    limit p_limit
  ));
  get diagnostics v_dead = row_count;
  return v_delivered + v_dead;
end;
$$;

revoke execute on function public.google_calendar_webhook_purge(interval, integer, interval)
  from public, anon, authenticated;
grant execute on function public.google_calendar_webhook_purge(interval, integer, interval)
  to service_role;

-- Operator view: what is waiting, since when, why, and what was given up on.
create view public.google_calendar_webhook_backlog
with (security_invoker = true)
as
select
  (select count(*) from public.google_calendar_webhook_events e
    where e.delivered_at is null and e.dead_at is null) as undelivered,
  (select min(e.next_attempt_at) from public.google_calendar_webhook_events e
    where e.delivered_at is null and e.dead_at is null) as next_attempt_at,
  (select min(e.created_at) from public.google_calendar_webhook_events e
    where e.delivered_at is null and e.dead_at is null) as oldest_undelivered_at,
  (select extract(epoch from now() - min(e.created_at))::double precision
    from public.google_calendar_webhook_events e
    where e.delivered_at is null and e.dead_at is null) as oldest_undelivered_age_seconds,
  (select e.last_error from public.google_calendar_webhook_events e
    where e.delivered_at is null and e.dead_at is null and e.last_error is not null
    order by e.next_attempt_at desc limit 1) as last_error,
  (select count(*) from public.google_calendar_webhook_events e
    where e.dead_at is not null) as dead_letters;

revoke all on table public.google_calendar_webhook_backlog from anon, authenticated;
grant select on table public.google_calendar_webhook_backlog to service_role;
