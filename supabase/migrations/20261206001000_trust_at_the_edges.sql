-- Trust at the edges (issue 21): a claim whose cost does not grow with one user's backlog, a cap
-- on connect_failed, unsaved grants queued for revocation with their Google account, and a
-- wake-up of delivery for events no function is about to deliver (a user deleted by SQL, say).

-- ---------------------------------------------------------------------------------------------
-- The claim: only each user's head
-- ---------------------------------------------------------------------------------------------
-- Before, every due row was checked for an earlier pending row of its user: 100k events of one
-- user behind a leased head made each claim walk all of them (20 s). Now the heads are found
-- first, one index probe per user with pending events (a skip scan over the pending-by-user
-- index), and only they are candidates: the cost grows with the number of users waiting, never
-- with one user's backlog.
create or replace function public.google_calendar_webhook_claim(
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
    with recursive users as (
      (select e.user_id from public.google_calendar_webhook_events e
        where e.delivered_at is null and e.dead_at is null
        order by e.user_id limit 1)
      union all
      select (select e.user_id from public.google_calendar_webhook_events e
               where e.delivered_at is null and e.dead_at is null and e.user_id > u.user_id
               order by e.user_id limit 1)
      from users u
      where u.user_id is not null
    ),
    heads as (
      select head.id
      from users
      cross join lateral (
        select h.id from public.google_calendar_webhook_events h
        where h.user_id = users.user_id and h.delivered_at is null and h.dead_at is null
        order by h.seq
        limit 1
      ) as head
      where users.user_id is not null
    ),
    claimable as (
      select e.id from public.google_calendar_webhook_events e
      join heads on heads.id = e.id
      where e.delivered_at is null and e.dead_at is null
        and e.next_attempt_at <= now()
        and (e.lease_until is null or e.lease_until < now())
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
    with head as (
      select h.id from public.google_calendar_webhook_events h
      where h.user_id = p_user_id and h.delivered_at is null and h.dead_at is null
      order by h.seq
      limit 1
    ),
    claimable as (
      select e.id from public.google_calendar_webhook_events e
      join head on head.id = e.id
      where e.delivered_at is null and e.dead_at is null
        and e.next_attempt_at <= now()
        and (e.lease_until is null or e.lease_until < now())
      limit least(p_limit, 1)
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

-- ---------------------------------------------------------------------------------------------
-- connect_failed: at most a few pending per user
-- ---------------------------------------------------------------------------------------------
-- A signed-in user looping connect → Cancel queued one event per loop (300 in 16 s). The bot
-- needs the latest outcome, not every one: once five are pending (none of them
-- claimed right now), the newest of them is rewritten with this outcome (same webhook-id; the bot sees the
-- latest answer once). A per-user lock makes the cap exact under concurrent callbacks.
create or replace function public.google_calendar_record_connect_failure(
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
declare
  v_pending integer;
  v_merged uuid;
begin
  perform public.google_calendar_sync_webhooks(p_webhooks);
  if not public.google_calendar_webhooks_enabled() then
    return false;
  end if;
  perform pg_advisory_xact_lock(hashtextextended('google_calendar_connect_failed:' || p_user_id::text, 0));
  -- Bounded by the cap itself: the walk stops at the fifth pending connect_failed.
  select count(*) into v_pending from (
    select 1 from public.google_calendar_webhook_events e
    where e.user_id = p_user_id and e.delivered_at is null and e.dead_at is null
      and e.type = 'google_calendar.connect_failed'
    limit 5
  ) as pending;
  if v_pending >= 5 then
    update public.google_calendar_webhook_events e
    set payload = jsonb_set(
          jsonb_set(e.payload, '{data}', (e.payload -> 'data') ||
            jsonb_build_object('result', p_result, 'reason', p_reason)),
          '{timestamp}',
          to_jsonb(to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
        )
    where e.id = (
      select n.id from public.google_calendar_webhook_events n
      where n.user_id = p_user_id and n.delivered_at is null and n.dead_at is null
        and n.type = 'google_calendar.connect_failed'
        and (n.lease_until is null or n.lease_until < now())
      order by n.seq desc
      limit 1
    )
      and e.delivered_at is null and e.dead_at is null
      and (e.lease_until is null or e.lease_until < now())
    returning e.id into v_merged;
    if v_merged is not null then
      return true;
    end if;
    -- Every pending one is being delivered right now: this outcome is queued after them.
  end if;
  return public.google_calendar_enqueue_event(
    p_user_id,
    'google_calendar.connect_failed',
    jsonb_build_object('result', p_result, 'reason', p_reason)
  ) is not null;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Grants Google gave us that no row holds: into the revocation queue, with their account
-- ---------------------------------------------------------------------------------------------
-- A partial consent (calendar box unticked) or a save that failed leaves a live refresh token
-- at Google that nothing records. The callback queues it here (encrypted, bound to the user) with
-- the Google account, so the runner revokes it only while no row holds that account (revoking
-- would end that row's grant too).
create function public.google_calendar_queue_revocation(
  p_user_id uuid,
  p_google_sub text,
  p_refresh_token text,
  p_cause text
)
returns uuid
language sql
security invoker
set search_path = ''
as $$
  insert into public.google_calendar_revocations (user_id, google_sub, refresh_token, cause)
  values (p_user_id, p_google_sub, p_refresh_token, p_cause)
  returning id;
$$;

revoke execute on function public.google_calendar_queue_revocation(uuid, text, text, text)
  from public, anon, authenticated;
grant execute on function public.google_calendar_queue_revocation(uuid, text, text, text)
  to service_role;

-- ---------------------------------------------------------------------------------------------
-- Waking delivery for events no function is about to deliver
-- ---------------------------------------------------------------------------------------------
-- The functions deliver the events their own RPCs write right after the commit (every such RPC
-- sets google_calendar.webhooks for its transaction). Any other writer (a user deleted from
-- auth.users by SQL, the dashboard or the Auth admin API; SQL by hand) left its events for the
-- next maintenance pass, minutes later. This trigger wakes delivery once per transaction:
--   - pg_notify('google_calendar_webhooks'), delivered at commit, which the local stack LISTENs
--     to (it plays pg_net's part, as its timer plays Cron's);
--   - with pg_net and the Vault secrets of docs/database.md (project_url,
--     google_maintenance_key), net.http_post to the google-webhooks function, as Supabase's
--     Database Webhooks do. pg_net sends it from its worker after the commit, never inside it.
-- security definer: it reads Vault, and the cascade from auth.users runs as Auth's role.
create function public.google_calendar_webhook_wake()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_url text;
  v_key text;
begin
  if current_setting('google_calendar.webhooks', true) in ('on', 'off')
    or current_setting('google_calendar.webhook_woken', true) = 'on' then
    return null;
  end if;
  perform set_config('google_calendar.webhook_woken', 'on', true);
  perform pg_notify('google_calendar_webhooks', '');
  if to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is not null
    and to_regclass('vault.decrypted_secrets') is not null then
    execute $q$
      select max(s.decrypted_secret) filter (where s.name = 'project_url'),
             max(s.decrypted_secret) filter (where s.name = 'google_maintenance_key')
      from vault.decrypted_secrets s
      where s.name in ('project_url', 'google_maintenance_key')
    $q$ into v_url, v_key;
    if v_url is not null and v_key is not null then
      execute $q$
        select net.http_post(
          url := $1 || '/functions/v1/google-webhooks',
          body := '{}'::jsonb,
          params := '{}'::jsonb,
          headers := jsonb_build_object('Content-Type', 'application/json',
                                        'Authorization', 'Bearer ' || $2),
          timeout_milliseconds := 30000
        )
      $q$ using v_url, v_key;
    end if;
  end if;
  return null;
end;
$$;

revoke execute on function public.google_calendar_webhook_wake() from public, anon, authenticated;

create trigger google_calendar_webhook_wake
  after insert on public.google_calendar_webhook_events
  for each statement execute function public.google_calendar_webhook_wake();
