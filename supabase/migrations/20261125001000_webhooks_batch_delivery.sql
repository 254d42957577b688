-- Lifecycle webhooks (issue 12): delivery in batches. The first attempts right after changes are
-- gathered per function process for a few milliseconds, then claimed for all those users at
-- once; every batch is settled in one call. Two database round trips per batch instead of one
-- claim per user and one settle per event, so delivery costs the database (and the person's
-- next request on the same machine) little.

-- Leases the head event of each of p_user_ids that is due and free: the same rules as
-- google_calendar_webhook_claim (per user only the head, skip rows another claimer locks).
create function public.google_calendar_webhook_claim_users(
  p_user_ids uuid[],
  p_lease_seconds integer
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
  return query
  with heads as (
    select head.id
    from (select distinct u.user_id from unnest(p_user_ids) as u(user_id)) as users
    cross join lateral (
      select h.id from public.google_calendar_webhook_events h
      where h.user_id = users.user_id and h.delivered_at is null and h.dead_at is null
      order by h.seq
      limit 1
    ) as head
  ),
  claimable as (
    select e.id from public.google_calendar_webhook_events e
    join heads on heads.id = e.id
    where e.delivered_at is null and e.dead_at is null
      and e.next_attempt_at <= now()
      and (e.lease_until is null or e.lease_until < now())
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
end;
$$;

revoke execute on function public.google_calendar_webhook_claim_users(uuid[], integer)
  from public, anon, authenticated;
grant execute on function public.google_calendar_webhook_claim_users(uuid[], integer)
  to service_role;

-- Settles a batch: p_results is a JSON array of {id, lease_id, outcome, status, error}, each as
-- google_calendar_webhook_settle takes them. Returns, per element, whether the lease holder's
-- settle applied and whether the event is now dead-lettered (gone, or too old to retry).
create function public.google_calendar_webhook_settle_many(
  p_results jsonb,
  p_max_age interval default '24 hours'
)
returns table (id uuid, settled boolean, dead boolean)
language plpgsql
security invoker
set search_path = ''
as $$
declare
  r jsonb;
  v_settled boolean;
begin
  for r in select * from jsonb_array_elements(p_results) loop
    v_settled := public.google_calendar_webhook_settle(
      (r ->> 'id')::uuid,
      (r ->> 'lease_id')::uuid,
      r ->> 'outcome',
      (r ->> 'status')::integer,
      r ->> 'error',
      p_max_age
    );
    id := (r ->> 'id')::uuid;
    settled := v_settled;
    dead := v_settled and exists (
      select 1 from public.google_calendar_webhook_events e
      where e.id = (r ->> 'id')::uuid and e.dead_at is not null
    );
    return next;
  end loop;
end;
$$;

revoke execute on function public.google_calendar_webhook_settle_many(jsonb, interval)
  from public, anon, authenticated;
grant execute on function public.google_calendar_webhook_settle_many(jsonb, interval)
  to service_role;
