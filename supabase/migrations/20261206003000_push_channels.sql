-- Push channels and incremental sync (issue 23). Google's events.watch opens a channel that POSTs
-- to google-calendar-push when a user's primary calendar changes; events.list with a syncToken
-- says what changed. Channels live and die with the grant: a trigger on the grant queues a stop
-- for every channel whenever the grant is deleted (any path) or changes Google account. The sync
-- token is saved only in the transaction that queues the google_calendar.events_changed events,
-- so a sync that dies midway loses nothing and is repeated at most.
-- Every table here is service only: RLS on, no grants to anon or authenticated.

-- ---------------------------------------------------------------------------------------------
-- The outbox accepts google_calendar.events_changed.
-- ---------------------------------------------------------------------------------------------
alter table public.google_calendar_webhook_events
  drop constraint google_calendar_webhook_events_type_check,
  add constraint google_calendar_webhook_events_type_check check (type in (
    'google_calendar.connected',
    'google_calendar.connect_failed',
    'google_calendar.reconnect_required',
    'google_calendar.disconnected',
    'google_calendar.expiring',
    'google_calendar.events_changed'
  ));

-- ---------------------------------------------------------------------------------------------
-- Channels
-- ---------------------------------------------------------------------------------------------
create table public.google_calendar_channels (
  -- The channel id we chose (random) and Google echoes in X-Goog-Channel-ID.
  id uuid primary key,
  -- No foreign key: the grant's trigger removes a user's channels, queueing their stops.
  user_id uuid not null,
  -- The Google account the channel watches; a grant that changes account stops it.
  google_sub text not null,
  -- SHA-256 (hex) of the random secret sent as the channel's token. Never the secret itself.
  token_hash text not null check (token_hash ~ '^[0-9a-f]{64}$'),
  -- Google's id of the watched resource, and when Google ends the channel; both from events.watch.
  resource_id text,
  expiration timestamptz,
  -- opening: watch in flight. active: the user's one serving channel. replaced: a renewal's old
  -- channel, kept until it expires so its late pushes are recognised (and answered 2xx).
  state text not null default 'opening' check (state in ('opening', 'active', 'replaced')),
  -- When the maintenance pass renews it: a random point in its life's last part, so renewals of
  -- channels opened together spread out.
  renew_at timestamptz,
  renew_lease_id uuid,
  renew_lease_until timestamptz,
  renew_attempts integer not null default 0,
  last_error text,
  created_at timestamptz not null default now(),
  check (state = 'opening' or (resource_id is not null and expiration is not null))
);

comment on table public.google_calendar_channels is
  'Google push channels (events.watch) per user; the token is stored only as a hash. Service only.';

create unique index google_calendar_channels_one_active_idx
  on public.google_calendar_channels (user_id) where state = 'active';
create index google_calendar_channels_user_idx
  on public.google_calendar_channels (user_id);
create index google_calendar_channels_renew_idx
  on public.google_calendar_channels (renew_at) where state = 'active';
create index google_calendar_channels_replaced_idx
  on public.google_calendar_channels (expiration) where state = 'replaced';
create index google_calendar_channels_opening_idx
  on public.google_calendar_channels (created_at) where state = 'opening';

alter table public.google_calendar_channels enable row level security;
revoke all on table public.google_calendar_channels from anon, authenticated;
grant select, insert, update, delete on table public.google_calendar_channels to service_role;

-- ---------------------------------------------------------------------------------------------
-- Per-user sync state: the sync token and the (coalesced) request for a sync.
-- ---------------------------------------------------------------------------------------------
create table public.google_calendar_sync_state (
  user_id uuid primary key,
  google_sub text not null,
  -- Google's nextSyncToken for the primary calendar; null until the first full sync took one.
  -- Not a credential (useless without the user's access token), but service only all the same.
  sync_token text,
  synced_at timestamptz,
  -- A sync is due from this time (null: none wanted). Pushes set it if unset, so a burst of
  -- pushes makes one due sync; a failure pushes it back (backoff).
  requested_at timestamptz,
  -- Bumped by every push: a sync that started before a push does not clear the request.
  request_seq bigint not null default 0,
  lease_id uuid,
  lease_until timestamptz,
  attempts integer not null default 0,
  -- Short and ours (e.g. 'google_unavailable'); never a response body.
  last_error text
);

comment on table public.google_calendar_sync_state is
  'Per-user calendar sync token and pending sync request. Service only.';

create index google_calendar_sync_state_due_idx
  on public.google_calendar_sync_state (requested_at) where requested_at is not null;

alter table public.google_calendar_sync_state enable row level security;
revoke all on table public.google_calendar_sync_state from anon, authenticated;
grant select, insert, update, delete on table public.google_calendar_sync_state to service_role;

-- ---------------------------------------------------------------------------------------------
-- Channel stops, retried like revocations.
-- ---------------------------------------------------------------------------------------------
create table public.google_calendar_channel_stops (
  channel_id uuid primary key,
  user_id uuid not null,
  resource_id text not null,
  -- When the grant is gone: its last access token exactly as stored (a JWE bound to user_id and
  -- the field access_token), the only credential left to stop with. Null while the grant lives
  -- (the runner then uses the user's current token).
  access_token text,
  token_expiry timestamptz,
  -- After this Google has ended the channel by itself: the entry is dropped without a call.
  channel_expiration timestamptz,
  cause text not null,
  created_at timestamptz not null default now(),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  lease_id uuid,
  lease_until timestamptz,
  last_error text
);

comment on table public.google_calendar_channel_stops is
  'Push channels to stop at Google (channels.stop), retried with backoff. Service only.';

create index google_calendar_channel_stops_due_idx
  on public.google_calendar_channel_stops (next_attempt_at);
-- The grant's trigger gives a user's queued stops the deleted grant's token.
create index google_calendar_channel_stops_user_idx
  on public.google_calendar_channel_stops (user_id);

alter table public.google_calendar_channel_stops enable row level security;
revoke all on table public.google_calendar_channel_stops from anon, authenticated;
grant select, insert, update, delete on table public.google_calendar_channel_stops to service_role;

-- ---------------------------------------------------------------------------------------------
-- Every way a grant dies or changes account stops its channels: disconnect, invalid_grant,
-- expiry, RISC, a deleted auth user (cascade), SQL by hand, a reconnect to another account.
-- security definer: the cascade from auth.users may run as the auth service's role.
-- ---------------------------------------------------------------------------------------------
create function public.google_calendar_tokens_stop_channels()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and new.google_sub is not distinct from old.google_sub then
    return null;
  end if;
  insert into public.google_calendar_channel_stops
    (channel_id, user_id, resource_id, access_token, token_expiry, channel_expiration, cause)
  select c.id, c.user_id, c.resource_id, old.access_token, old.token_expiry, c.expiration,
    case when tg_op = 'DELETE' then 'grant_deleted' else 'account_changed' end
  from public.google_calendar_channels c
  where c.user_id = old.user_id and c.resource_id is not null
  on conflict (channel_id) do update
    set access_token = excluded.access_token, token_expiry = excluded.token_expiry;
  -- Stops queued earlier (replaced channels) had no token of their own: they get this one.
  update public.google_calendar_channel_stops s
  set access_token = old.access_token, token_expiry = old.token_expiry
  where s.user_id = old.user_id and s.access_token is null;
  delete from public.google_calendar_channels c where c.user_id = old.user_id;
  delete from public.google_calendar_sync_state s where s.user_id = old.user_id;
  return null;
end;
$$;

revoke execute on function public.google_calendar_tokens_stop_channels() from public, anon, authenticated;

create trigger google_calendar_tokens_stop_channels
  after delete or update of google_sub on public.google_calendar_tokens
  for each row execute function public.google_calendar_tokens_stop_channels();

-- ---------------------------------------------------------------------------------------------
-- Opening a channel: a row before the watch call (Google's `sync` hello may arrive before the
-- watch answers), then activation with what Google answered.
-- ---------------------------------------------------------------------------------------------
-- Records an opening channel for the user's current grant. Returns the grant's google_sub, or
-- null (nothing written) when the user has no grant.
create function public.google_calendar_channel_begin(
  p_channel_id uuid,
  p_user_id uuid,
  p_token_hash text
)
returns text
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_sub text;
begin
  select t.google_sub into v_sub from public.google_calendar_tokens t
  where t.user_id = p_user_id and t.google_sub is not null
  for share;
  if v_sub is null then
    return null;
  end if;
  insert into public.google_calendar_channels (id, user_id, google_sub, token_hash)
  values (p_channel_id, p_user_id, v_sub, p_token_hash);
  return v_sub;
end;
$$;

revoke execute on function public.google_calendar_channel_begin(uuid, uuid, text) from public, anon, authenticated;
grant execute on function public.google_calendar_channel_begin(uuid, uuid, text) to service_role;

-- Makes an opening channel the user's active one. The previous active channel becomes replaced
-- and its stop is queued. A sync state is created (first full sync due) if the user has none.
-- Returns 'active', or 'orphaned' when the grant died or changed account meanwhile (the row is
-- gone; the caller stops the channel with the token it opened it with).
create function public.google_calendar_channel_activate(
  p_channel_id uuid,
  p_user_id uuid,
  p_resource_id text,
  p_expiration timestamptz,
  p_renew_at timestamptz
)
returns text
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_sub text;
  v_channel public.google_calendar_channels;
begin
  select t.google_sub into v_sub from public.google_calendar_tokens t
  where t.user_id = p_user_id
  for share;
  select * into v_channel from public.google_calendar_channels c
  where c.id = p_channel_id and c.user_id = p_user_id and c.state = 'opening'
  for update;
  if v_channel.id is null or v_sub is distinct from v_channel.google_sub then
    delete from public.google_calendar_channels c where c.id = p_channel_id;
    return 'orphaned';
  end if;

  with old as (
    update public.google_calendar_channels c
    set state = 'replaced', renew_lease_id = null, renew_lease_until = null
    where c.user_id = p_user_id and c.state = 'active'
    returning c.id, c.user_id, c.resource_id, c.expiration
  )
  insert into public.google_calendar_channel_stops
    (channel_id, user_id, resource_id, channel_expiration, cause)
  select o.id, o.user_id, o.resource_id, o.expiration, 'replaced' from old o
  on conflict (channel_id) do nothing;

  update public.google_calendar_channels c
  set state = 'active', resource_id = p_resource_id, expiration = p_expiration,
      renew_at = p_renew_at, last_error = null
  where c.id = p_channel_id;

  insert into public.google_calendar_sync_state (user_id, google_sub, requested_at)
  values (p_user_id, v_sub, now())
  on conflict (user_id) do nothing;
  return 'active';
end;
$$;

revoke execute on function public.google_calendar_channel_activate(uuid, uuid, text, timestamptz, timestamptz)
  from public, anon, authenticated;
grant execute on function public.google_calendar_channel_activate(uuid, uuid, text, timestamptz, timestamptz)
  to service_role;

-- A watch that failed: its opening row goes (nothing at Google to stop).
create function public.google_calendar_channel_abandon(p_channel_id uuid)
returns void
language sql
security invoker
set search_path = ''
as $$
  delete from public.google_calendar_channels c where c.id = p_channel_id and c.state = 'opening';
$$;

revoke execute on function public.google_calendar_channel_abandon(uuid) from public, anon, authenticated;
grant execute on function public.google_calendar_channel_abandon(uuid) to service_role;

-- ---------------------------------------------------------------------------------------------
-- The push endpoint's two calls
-- ---------------------------------------------------------------------------------------------
-- What the push function checks a notification against (by primary key).
create function public.google_calendar_push_channel(p_channel_id uuid)
returns table (token_hash text, resource_id text, state text, user_id uuid)
language sql
stable
security invoker
set search_path = ''
as $$
  select c.token_hash, c.resource_id, c.state, c.user_id from public.google_calendar_channels c
  where c.id = p_channel_id;
$$;

revoke execute on function public.google_calendar_push_channel(uuid) from public, anon, authenticated;
grant execute on function public.google_calendar_push_channel(uuid) to service_role;

-- An authenticated `exists`: for a serving channel (opening or active), requests a sync of its
-- user, coalesced: 'queued' when this push made a sync due, 'coalesced' when one already was.
-- For a replaced channel: 'replaced', and its stop queued if none is (bounded: one per channel
-- we know). Otherwise 'unknown', and nothing is written.
create function public.google_calendar_push_exists(p_channel_id uuid)
returns table (result text, user_id uuid)
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_channel public.google_calendar_channels;
  v_was_due boolean;
begin
  select * into v_channel from public.google_calendar_channels c where c.id = p_channel_id;
  if v_channel.id is null then
    return query select 'unknown'::text, null::uuid;
    return;
  end if;
  if v_channel.state = 'replaced' then
    insert into public.google_calendar_channel_stops
      (channel_id, user_id, resource_id, channel_expiration, cause)
    values (v_channel.id, v_channel.user_id, v_channel.resource_id, v_channel.expiration, 'stale_push')
    on conflict (channel_id) do nothing;
    return query select 'replaced'::text, v_channel.user_id;
    return;
  end if;
  select s.requested_at is not null into v_was_due from public.google_calendar_sync_state s
  where s.user_id = v_channel.user_id
  for update;
  if v_was_due is null then
    -- No sync state: the first full sync has not been set up yet; it will see this change.
    return query select 'coalesced'::text, v_channel.user_id;
    return;
  end if;
  update public.google_calendar_sync_state s
  set request_seq = s.request_seq + 1,
      requested_at = coalesce(s.requested_at, now())
  where s.user_id = v_channel.user_id;
  return query select case when v_was_due then 'coalesced' else 'queued' end, v_channel.user_id;
end;
$$;

revoke execute on function public.google_calendar_push_exists(uuid) from public, anon, authenticated;
grant execute on function public.google_calendar_push_exists(uuid) to service_role;

-- ---------------------------------------------------------------------------------------------
-- Sync: claim (one syncer per user), save (token + events in one transaction), fail (backoff).
-- ---------------------------------------------------------------------------------------------
-- Leases due syncs: those of p_user_ids, or (null) the oldest due. A sync leased by another
-- syncer, or locked by one claiming it now, is skipped: two syncs at once, one runs.
create function public.google_calendar_sync_claim(
  p_user_ids uuid[],
  p_limit integer,
  p_lease_seconds integer
)
returns table (
  user_id uuid,
  google_sub text,
  sync_token text,
  request_seq bigint,
  attempts integer,
  lease_id uuid
)
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if p_user_ids is not null then
    return query
    with claimable as (
      select s.user_id from public.google_calendar_sync_state s
      where s.user_id = any (p_user_ids)
        and s.requested_at <= now()
        and (s.lease_until is null or s.lease_until < now())
      limit p_limit
      for update of s skip locked
    )
    update public.google_calendar_sync_state q
    set lease_id = gen_random_uuid(),
        lease_until = now() + make_interval(secs => p_lease_seconds),
        attempts = q.attempts + 1
    from claimable c
    where q.user_id = c.user_id
    returning q.user_id, q.google_sub, q.sync_token, q.request_seq, q.attempts, q.lease_id;
    return;
  end if;

  return query
  -- plan-checked
  with claimable as (
    select s.user_id from public.google_calendar_sync_state s
    where s.requested_at is not null and s.requested_at <= now()
      and (s.lease_until is null or s.lease_until < now())
    order by s.requested_at
    limit p_limit
    for update of s skip locked
  )
  update public.google_calendar_sync_state q
  set lease_id = gen_random_uuid(),
      lease_until = now() + make_interval(secs => p_lease_seconds),
      attempts = q.attempts + 1
  from claimable c
  where q.user_id = c.user_id
  returning q.user_id, q.google_sub, q.sync_token, q.request_seq, q.attempts, q.lease_id;
end;
$$;

revoke execute on function public.google_calendar_sync_claim(uuid[], integer, integer)
  from public, anon, authenticated;
grant execute on function public.google_calendar_sync_claim(uuid[], integer, integer) to service_role;

-- Saves a finished sync, only for the lease holder and only if the user's grant still watches
-- the same Google account: queues google_calendar.events_changed (the events in parts of at most
-- p_part_size, in order) and stores the new sync token, in one transaction. The request is
-- cleared unless a push came after the claim (then another sync is due now). A full sync that
-- only takes the first token passes no events. Returns the number of events queued, or null
-- when the save did not apply (lease lost, grant gone: nothing written).
create function public.google_calendar_sync_save(
  p_user_id uuid,
  p_lease_id uuid,
  p_request_seq bigint,
  p_sync_token text,
  p_events jsonb,
  p_resync boolean,
  p_webhooks boolean,
  p_part_size integer default 100
)
returns integer
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_state public.google_calendar_sync_state;
  v_count integer := coalesce(jsonb_array_length(p_events), 0);
  v_parts integer;
  k integer;
begin
  if p_sync_token is null or p_sync_token = '' then
    raise exception 'a sync token is required' using errcode = '22023';
  end if;
  perform public.google_calendar_sync_webhooks(p_webhooks);
  select * into v_state from public.google_calendar_sync_state s
  where s.user_id = p_user_id and s.lease_id = p_lease_id
  for update;
  if v_state.user_id is null or not exists (
    select 1 from public.google_calendar_tokens t
    where t.user_id = p_user_id and t.google_sub = v_state.google_sub
  ) then
    return null;
  end if;

  if v_count > 0 or p_resync then
    v_parts := greatest(ceil(v_count::numeric / p_part_size)::integer, 1);
    for k in 0 .. v_parts - 1 loop
      perform public.google_calendar_enqueue_event(
        p_user_id,
        'google_calendar.events_changed',
        jsonb_build_object(
          'calendar_id', 'primary',
          'resync', coalesce(p_resync, false),
          'part', k + 1,
          'parts', v_parts,
          'events', coalesce((
            select jsonb_agg(e.value order by e.ordinality)
            from jsonb_array_elements(p_events) with ordinality as e(value, ordinality)
            where e.ordinality > k * p_part_size and e.ordinality <= (k + 1) * p_part_size
          ), '[]'::jsonb)
        )
      );
    end loop;
  end if;

  update public.google_calendar_sync_state s
  set sync_token = p_sync_token,
      synced_at = now(),
      lease_id = null,
      lease_until = null,
      attempts = 0,
      last_error = null,
      requested_at = case when s.request_seq = p_request_seq then null else now() end
  where s.user_id = p_user_id;
  return v_count;
end;
$$;

revoke execute on function public.google_calendar_sync_save(uuid, uuid, bigint, text, jsonb, boolean, boolean, integer)
  from public, anon, authenticated;
grant execute on function public.google_calendar_sync_save(uuid, uuid, bigint, text, jsonb, boolean, boolean, integer)
  to service_role;

-- A sync that failed (Google 5xx/429, a timeout): the lease goes and the request waits
-- p_retry_after_seconds, or a backoff of 30 s × 2^(attempts-1) capped at 30 min, ±25 %.
create function public.google_calendar_sync_fail(
  p_user_id uuid,
  p_lease_id uuid,
  p_error text,
  p_retry_after_seconds integer default null
)
returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
begin
  update public.google_calendar_sync_state s
  set lease_id = null,
      lease_until = null,
      last_error = left(p_error, 200),
      requested_at = now() + make_interval(secs => coalesce(p_retry_after_seconds::double precision,
        least(30 * power(2, greatest(s.attempts - 1, 0)), 1800) * (0.75 + random() * 0.5)))
  where s.user_id = p_user_id and s.lease_id = p_lease_id;
  return found;
end;
$$;

revoke execute on function public.google_calendar_sync_fail(uuid, uuid, text, integer)
  from public, anon, authenticated;
grant execute on function public.google_calendar_sync_fail(uuid, uuid, text, integer) to service_role;

-- ---------------------------------------------------------------------------------------------
-- Renewal
-- ---------------------------------------------------------------------------------------------
-- Leases up to p_limit active channels whose renew_at has come, soonest first.
create function public.google_calendar_channel_claim_renewals(p_limit integer, p_lease_seconds integer)
returns table (id uuid, user_id uuid, expiration timestamptz, renew_attempts integer, lease_id uuid)
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return query
  -- plan-checked
  with due as (
    select c.id from public.google_calendar_channels c
    where c.state = 'active' and c.renew_at <= now()
      and (c.renew_lease_until is null or c.renew_lease_until < now())
    order by c.renew_at
    limit p_limit
    for update of c skip locked
  )
  update public.google_calendar_channels g
  set renew_lease_id = gen_random_uuid(),
      renew_lease_until = now() + make_interval(secs => p_lease_seconds),
      renew_attempts = g.renew_attempts + 1
  from due d
  where g.id = d.id
  returning g.id, g.user_id, g.expiration, g.renew_attempts, g.renew_lease_id;
end;
$$;

revoke execute on function public.google_calendar_channel_claim_renewals(integer, integer)
  from public, anon, authenticated;
grant execute on function public.google_calendar_channel_claim_renewals(integer, integer) to service_role;

-- A renewal that failed: the channel keeps serving; the next try comes after a backoff of
-- 5 min × 2^(attempts-1), capped at 1 h (the renewal window is days long).
create function public.google_calendar_channel_renewal_failed(
  p_id uuid,
  p_lease_id uuid,
  p_error text
)
returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
begin
  update public.google_calendar_channels c
  set renew_lease_id = null,
      renew_lease_until = null,
      last_error = left(p_error, 200),
      renew_at = now() + make_interval(secs =>
        least(300 * power(2, greatest(c.renew_attempts - 1, 0)), 3600) * (0.75 + random() * 0.5))
  where c.id = p_id and c.renew_lease_id = p_lease_id and c.state = 'active';
  return found;
end;
$$;

revoke execute on function public.google_calendar_channel_renewal_failed(uuid, uuid, text)
  from public, anon, authenticated;
grant execute on function public.google_calendar_channel_renewal_failed(uuid, uuid, text) to service_role;

-- ---------------------------------------------------------------------------------------------
-- The stop queue's runner (as the revocation queue's).
-- ---------------------------------------------------------------------------------------------
create function public.google_calendar_channel_stop_claim(p_limit integer, p_lease_seconds integer)
returns table (
  channel_id uuid,
  user_id uuid,
  resource_id text,
  access_token text,
  token_expiry timestamptz,
  channel_expiration timestamptz,
  cause text,
  attempts integer,
  lease_id uuid
)
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return query
  -- plan-checked
  with claimable as (
    select s.channel_id from public.google_calendar_channel_stops s
    where s.next_attempt_at <= now()
      and (s.lease_until is null or s.lease_until < now())
    order by s.next_attempt_at
    limit p_limit
    for update of s skip locked
  )
  update public.google_calendar_channel_stops q
  set lease_id = gen_random_uuid(),
      lease_until = now() + make_interval(secs => p_lease_seconds),
      attempts = q.attempts + 1
  from claimable c
  where q.channel_id = c.channel_id
  returning q.channel_id, q.user_id, q.resource_id, q.access_token, q.token_expiry,
    q.channel_expiration, q.cause, q.attempts, q.lease_id;
end;
$$;

revoke execute on function public.google_calendar_channel_stop_claim(integer, integer)
  from public, anon, authenticated;
grant execute on function public.google_calendar_channel_stop_claim(integer, integer) to service_role;

-- done: stopped, or nothing left to stop (the entry and a replaced channel's row go). retry:
-- backoff 60 s × 2^(attempts-1), capped at 6 h, ±25 %. Only the lease holder settles.
create function public.google_calendar_channel_stop_settle(
  p_channel_id uuid,
  p_lease_id uuid,
  p_outcome text,
  p_error text
)
returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if p_outcome = 'done' then
    delete from public.google_calendar_channel_stops s
    where s.channel_id = p_channel_id and s.lease_id = p_lease_id;
    if found then
      delete from public.google_calendar_channels c
      where c.id = p_channel_id and c.state = 'replaced';
    end if;
    return found;
  elsif p_outcome = 'retry' then
    update public.google_calendar_channel_stops s
    set lease_id = null,
        lease_until = null,
        last_error = left(p_error, 200),
        next_attempt_at = now() + make_interval(secs =>
          least(60 * power(2, greatest(s.attempts - 1, 0)), 21600) * (0.75 + random() * 0.5))
    where s.channel_id = p_channel_id and s.lease_id = p_lease_id;
    return found;
  end if;
  raise exception 'unknown outcome %', p_outcome using errcode = '22023';
end;
$$;

revoke execute on function public.google_calendar_channel_stop_settle(uuid, uuid, text, text)
  from public, anon, authenticated;
grant execute on function public.google_calendar_channel_stop_settle(uuid, uuid, text, text)
  to service_role;

-- Housekeeping: replaced channels past their expiration (Google sends nothing more), and opening
-- rows of watches that never finished (the process died), up to p_limit each.
create function public.google_calendar_channel_purge(p_limit integer)
returns integer
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_replaced integer;
  v_opening integer;
begin
  -- plan-checked
  delete from public.google_calendar_channels c
  where c.id = any (array(
    select r.id from public.google_calendar_channels r
    where r.state = 'replaced' and r.expiration < now()
    order by r.expiration
    limit p_limit
  ));
  get diagnostics v_replaced = row_count;
  -- plan-checked
  delete from public.google_calendar_channels c
  where c.id = any (array(
    select o.id from public.google_calendar_channels o
    where o.state = 'opening' and o.created_at < now() - interval '1 hour'
    order by o.created_at
    limit p_limit
  ));
  get diagnostics v_opening = row_count;
  return v_replaced + v_opening;
end;
$$;

revoke execute on function public.google_calendar_channel_purge(integer) from public, anon, authenticated;
grant execute on function public.google_calendar_channel_purge(integer) to service_role;
