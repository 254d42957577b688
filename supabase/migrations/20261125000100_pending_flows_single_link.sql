-- Consent links (issue 14 items 1, 7): only the newest link of a user works, a link may name the
-- Google account it expects, and the state no longer carries the user id: the callback takes the
-- user from the flow it consumes.

alter table public.google_oauth_pending_flows
  add column expected_google_email text;

drop function public.google_oauth_begin_flow(uuid, uuid, text, timestamptz, integer);

-- Starts a flow in one round trip: checks the user exists, voids the user's other pending flows,
-- purges a bounded batch of expired flows, stores the verifier, and tells whether a usable refresh
-- token is already held (then the consent screen need not be forced).
-- security definer: it reads auth.users.
create function public.google_oauth_begin_flow(
  p_user_id uuid,
  p_jti uuid,
  p_code_verifier text,
  p_expires_at timestamptz,
  p_expected_google_email text
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_connected boolean;
begin
  if not exists (select 1 from auth.users u where u.id = p_user_id) then
    return jsonb_build_object('user_exists', false);
  end if;

  -- Serialise one user's concurrent starts: exactly one flow survives.
  perform pg_advisory_xact_lock(hashtextextended('google_oauth_begin_flow:' || p_user_id::text, 0));

  -- Only the newest link works.
  -- plan-checked
  delete from public.google_oauth_pending_flows f where f.user_id = p_user_id;

  -- Bounded, so a backlog never lengthens a user's request; maintenance purges the rest.
  -- plan-checked
  delete from public.google_oauth_pending_flows f
  where f.jti = any (array(
    select p.jti from public.google_oauth_pending_flows p
    where p.expires_at <= now()
    order by p.expires_at
    limit 20
  ));

  insert into public.google_oauth_pending_flows (jti, user_id, code_verifier, expires_at, expected_google_email)
  values (p_jti, p_user_id, p_code_verifier, p_expires_at, p_expected_google_email);

  select exists (
    select 1 from public.google_calendar_tokens t
    where t.user_id = p_user_id
      and t.last_refresh_error is distinct from 'google_refresh_token_missing'
  ) into v_connected;

  return jsonb_build_object('user_exists', true, 'has_refresh_token', v_connected);
end;
$$;

revoke execute on function public.google_oauth_begin_flow(uuid, uuid, text, timestamptz, text)
  from public, anon, authenticated;
grant execute on function public.google_oauth_begin_flow(uuid, uuid, text, timestamptz, text)
  to service_role;

-- Takes a flow exactly once (delete … returning): a replayed state finds nothing. The caller
-- checks expires_at (an expired flow is consumed all the same, so it cannot be tried again).
create function public.google_oauth_consume_flow(p_jti uuid)
returns table (
  user_id uuid,
  code_verifier text,
  expires_at timestamptz,
  expected_google_email text
)
language sql
security invoker
set search_path = ''
as $$
  delete from public.google_oauth_pending_flows f
  where f.jti = p_jti
  returning f.user_id, f.code_verifier, f.expires_at, f.expected_google_email;
$$;

revoke execute on function public.google_oauth_consume_flow(uuid) from public, anon, authenticated;
grant execute on function public.google_oauth_consume_flow(uuid) to service_role;
grant select, insert, update, delete on table public.google_oauth_pending_flows to service_role;
