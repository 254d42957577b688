-- A person who taps "connect" twice gets two links at once, the newer one valid (issue 21). A
-- burst of one user's starts was a queue behind the per-user lock, each holding it through its
-- commit's disk flush: on a loaded machine the tail passed HTTP_TIMEOUT_MS and answered 503.
-- Now the commit does not wait for the disk, and the purge of expired flows runs before the lock.

create or replace function public.google_oauth_begin_flow(
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

  -- A pending flow is worth little after a crash (its link then says "expired, ask again"), so
  -- its commit does not wait for the disk: the per-user lock below is held for CPU work only,
  -- and a burst of one user's taps is not a queue of disk flushes.
  perform set_config('synchronous_commit', 'off', true);

  -- Bounded, so a backlog never lengthens a user's request; maintenance purges the rest. Before
  -- the lock: it concerns other users' flows.
  -- plan-checked
  delete from public.google_oauth_pending_flows f
  where f.jti = any (array(
    select p.jti from public.google_oauth_pending_flows p
    where p.expires_at <= now()
    order by p.expires_at
    limit 20
  ));

  -- Serialise one user's concurrent starts: exactly one flow survives.
  perform pg_advisory_xact_lock(hashtextextended('google_oauth_begin_flow:' || p_user_id::text, 0));

  -- Only the newest link works.
  -- plan-checked
  delete from public.google_oauth_pending_flows f where f.user_id = p_user_id;

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
