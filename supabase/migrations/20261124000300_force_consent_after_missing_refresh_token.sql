-- When a callback could not keep a refresh token (Google sent none, and the stored one is for
-- another Google account or no longer decrypts), the row is marked; the next consent link must
-- then force Google's consent screen, the only way to be sent a new refresh token.

create or replace function public.google_oauth_begin_flow(
  p_user_id uuid,
  p_jti uuid,
  p_code_verifier text,
  p_expires_at timestamptz,
  p_max_pending integer
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

  -- Serialise one user's concurrent starts so the bound holds.
  perform pg_advisory_xact_lock(hashtextextended('google_oauth_begin_flow:' || p_user_id::text, 0));

  delete from public.google_oauth_pending_flows f where f.expires_at <= now();

  delete from public.google_oauth_pending_flows f
  where f.jti in (
    select p.jti from public.google_oauth_pending_flows p
    where p.user_id = p_user_id
    order by p.created_at desc, p.jti
    offset greatest(p_max_pending - 1, 0)
  );

  insert into public.google_oauth_pending_flows (jti, user_id, code_verifier, expires_at)
  values (p_jti, p_user_id, p_code_verifier, p_expires_at);

  select exists (
    select 1 from public.google_calendar_tokens t
    where t.user_id = p_user_id
      and t.last_refresh_error is distinct from 'google_refresh_token_missing'
  ) into v_connected;

  return jsonb_build_object('user_exists', true, 'has_refresh_token', v_connected);
end;
$$;

revoke execute on function public.google_oauth_begin_flow(uuid, uuid, text, timestamptz, integer)
  from public, anon, authenticated;
grant execute on function public.google_oauth_begin_flow(uuid, uuid, text, timestamptz, integer)
  to service_role;
