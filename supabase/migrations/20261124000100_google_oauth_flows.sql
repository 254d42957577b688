-- Connect/callback: which Google account a row belongs to, and server-side PKCE verifiers.

alter table public.google_calendar_tokens
  add column google_sub text,
  add column google_email text;

comment on column public.google_calendar_tokens.access_token is
  'JWE (dir, A256GCM) bound to user_id; decrypted only by the Edge Functions.';
comment on column public.google_calendar_tokens.refresh_token is
  'JWE (dir, A256GCM) bound to user_id; decrypted only by the Edge Functions.';

-- One row per consent link handed out and not yet used. The state JWT carries only the jti;
-- the PKCE verifier stays here so it never travels in a URL.
create table public.google_oauth_pending_flows (
  jti uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  code_verifier text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);

create index google_oauth_pending_flows_user_id_idx
  on public.google_oauth_pending_flows (user_id, created_at);
create index google_oauth_pending_flows_expires_at_idx
  on public.google_oauth_pending_flows (expires_at);

-- Service-only: RLS on and no policy, so anon and authenticated see and write nothing.
alter table public.google_oauth_pending_flows enable row level security;
revoke all on table public.google_oauth_pending_flows from anon, authenticated;

-- Starts a flow in one round trip: checks the user exists, purges expired flows, keeps at most
-- p_max_pending flows for the user (the oldest go), stores the verifier, and tells whether a
-- refresh token is already held (then the consent screen need not be forced).
create function public.google_oauth_begin_flow(
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
    select 1 from public.google_calendar_tokens t where t.user_id = p_user_id
  ) into v_connected;

  return jsonb_build_object('user_exists', true, 'has_refresh_token', v_connected);
end;
$$;

revoke execute on function public.google_oauth_begin_flow(uuid, uuid, text, timestamptz, integer)
  from public, anon, authenticated;
grant execute on function public.google_oauth_begin_flow(uuid, uuid, text, timestamptz, integer)
  to service_role;
