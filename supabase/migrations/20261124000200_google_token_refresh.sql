-- Token lifecycle: a refresh lease so that one refresh happens at Google however many function
-- instances need the token at once, and what status reports about the last refresh.

alter table public.google_calendar_tokens
  add column refresh_lease_id uuid,
  add column refresh_lease_until timestamptz,
  add column last_refresh_at timestamptz,
  add column last_refresh_error text;

-- Takes the user's refresh lease when nobody holds a live one (compare-and-set on the database's
-- clock, so instances' clocks do not matter). True when the caller now holds it.
create function public.google_token_acquire_refresh_lease(
  p_user_id uuid,
  p_lease_id uuid,
  p_lease_seconds integer
)
returns boolean
language sql
security invoker
set search_path = ''
as $$
  with taken as (
    update public.google_calendar_tokens t
    set refresh_lease_id = p_lease_id,
        refresh_lease_until = now() + make_interval(secs => p_lease_seconds)
    where t.user_id = p_user_id
      and (t.refresh_lease_until is null or t.refresh_lease_until < now())
    returning 1
  )
  select exists (select 1 from taken);
$$;

revoke execute on function public.google_token_acquire_refresh_lease(uuid, uuid, integer)
  from public, anon, authenticated;
grant execute on function public.google_token_acquire_refresh_lease(uuid, uuid, integer)
  to service_role;
