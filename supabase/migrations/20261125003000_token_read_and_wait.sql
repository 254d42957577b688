-- getGoogleAccessToken in one round trip: read the grant and, when it needs renewing, take the
-- refresh lease in the same call; and a wait that hands the waiter the refreshed row, so that
-- neither the refresher nor its waiters read the row again.

-- The row (every column, as jsonb) plus `leased`: whether the caller now holds the refresh lease.
-- The lease is tried only when the access token expires at or before p_refresh_before, checked
-- again on the latest committed version of the row (an UPDATE re-reads it), so a refresher never
-- works from a row another process refreshed meanwhile, and never renews a token that is no
-- longer due. Null: no row.
create function public.google_token_read_for_use(
  p_user_id uuid,
  p_refresh_before timestamptz,
  p_lease_id uuid,
  p_lease_seconds integer
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_row public.google_calendar_tokens;
  v_leased public.google_calendar_tokens;
begin
  select * into v_row from public.google_calendar_tokens t where t.user_id = p_user_id;
  if not found then
    return null;
  end if;
  if v_row.token_expiry is not null and v_row.token_expiry <= p_refresh_before then
    -- The expiry is checked again here, on the row as it is now: a refresher that saved between
    -- our read and this update has let go of the lease, and its new token is not due.
    update public.google_calendar_tokens t
    set refresh_lease_id = p_lease_id,
        refresh_lease_until = now() + make_interval(secs => p_lease_seconds)
    where t.user_id = p_user_id
      and (t.refresh_lease_until is null or t.refresh_lease_until < now())
      and t.token_expiry is not null and t.token_expiry <= p_refresh_before
    returning * into v_leased;
    if found then
      return to_jsonb(v_leased) || jsonb_build_object('leased', true);
    end if;
    -- Not ours: answer with the row as it now is (perhaps just refreshed by someone else).
    select * into v_row from public.google_calendar_tokens t where t.user_id = p_user_id;
    if not found then
      return null;
    end if;
  end if;
  return to_jsonb(v_row) || jsonb_build_object('leased', false);
end;
$$;

revoke execute on function public.google_token_read_for_use(uuid, timestamptz, uuid, integer)
  from public, anon, authenticated;
grant execute on function public.google_token_read_for_use(uuid, timestamptz, uuid, integer)
  to service_role;

-- Waits inside the database (looking every millisecond; read committed, so each look sees new
-- commits) until nobody holds a live refresh lease on the row, the row is gone, or p_timeout_ms
-- (capped at 1 s, so a waiter never holds a connection long). Answers
-- { "state": "released" | "gone" | "timeout", "row": <the row as jsonb, when released> }.
create function public.google_token_await_row(p_user_id uuid, p_timeout_ms integer)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_deadline timestamptz := clock_timestamp() +
    make_interval(secs => least(greatest(coalesce(p_timeout_ms, 0), 0), 1000) / 1000.0);
  v_row public.google_calendar_tokens;
begin
  loop
    select * into v_row from public.google_calendar_tokens t where t.user_id = p_user_id;
    if not found then
      return jsonb_build_object('state', 'gone');
    end if;
    if v_row.refresh_lease_until is null or v_row.refresh_lease_until < clock_timestamp() then
      return jsonb_build_object('state', 'released', 'row', to_jsonb(v_row));
    end if;
    if clock_timestamp() >= v_deadline then
      return jsonb_build_object('state', 'timeout');
    end if;
    perform pg_sleep(0.001);
  end loop;
end;
$$;

revoke execute on function public.google_token_await_row(uuid, integer)
  from public, anon, authenticated;
grant execute on function public.google_token_await_row(uuid, integer) to service_role;
