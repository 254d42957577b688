-- The stored grant gets an identity and a life cycle (issues 13, 14), and users lose write access
-- to their own token row (issue 14 item 3): they may only read its non-secret columns.

alter table public.google_calendar_tokens
  -- A new value on every consent, so a refresh that finds invalid_grant deletes only the grant it
  -- used, never one stored by a re-consent in the meantime.
  add column grant_id uuid not null default gen_random_uuid(),
  add column connected_at timestamptz not null default now(),
  -- Google's refresh_token_expires_in, as a time; null = the grant is not time-limited.
  add column refresh_token_expires_at timestamptz,
  -- Last time Google issued or accepted the refresh token; keep-alive picks rows where it is old.
  add column refresh_token_used_at timestamptz not null default now(),
  -- When google_calendar.expiring was emitted for this grant (once; cleared on re-consent).
  add column expiring_notified_at timestamptz,
  -- The kid of the refresh token's JWE header, kept true by a trigger whoever writes the row.
  add column key_id text;

comment on column public.google_calendar_tokens.grant_id is
  'Identity of the stored grant; new on every consent. Deletes after invalid_grant match on it.';
comment on column public.google_calendar_tokens.key_id is
  'kid of the refresh_token JWE protected header; set by trigger, never by callers.';

-- Reads the kid from a compact JWE's protected header. Null when the value is not a JWE.
create function public.google_calendar_jwe_kid(p_jwe text)
returns text
language plpgsql
immutable
security invoker
set search_path = ''
as $$
declare
  v_header text := split_part(p_jwe, '.', 1);
begin
  if p_jwe is null or array_length(string_to_array(p_jwe, '.'), 1) <> 5
     or v_header !~ '^[A-Za-z0-9_-]+$' then
    return null;
  end if;
  v_header := translate(v_header, '-_', '+/');
  v_header := v_header || repeat('=', (4 - length(v_header) % 4) % 4);
  return convert_from(decode(v_header, 'base64'), 'UTF8')::jsonb ->> 'kid';
exception when others then
  -- Not base64, not UTF-8 or not JSON: not a JWE we wrote.
  return null;
end;
$$;

revoke execute on function public.google_calendar_jwe_kid(text) from public, anon, authenticated;
grant execute on function public.google_calendar_jwe_kid(text) to service_role;

-- BEFORE trigger shared by every table holding a refresh_token JWE: key_id cannot drift from
-- the ciphertext, whoever writes (PostgREST, an RPC or SQL by hand).
create function public.google_calendar_set_key_id()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  new.key_id := public.google_calendar_jwe_kid(new.refresh_token);
  return new;
end;
$$;

revoke execute on function public.google_calendar_set_key_id() from public, anon, authenticated;

create trigger google_calendar_tokens_set_key_id
  before insert or update of refresh_token, key_id on public.google_calendar_tokens
  for each row execute function public.google_calendar_set_key_id();

-- Existing rows: their key id, and a last use no later than what we know of them.
update public.google_calendar_tokens
set key_id = public.google_calendar_jwe_kid(refresh_token),
    refresh_token_used_at = coalesce(last_refresh_at, updated_at, now()),
    connected_at = coalesce(updated_at, now());

-- One index per maintenance query (a pgTAP test EXPLAINs them on a seeded table).
create index google_calendar_tokens_refresh_token_used_at_idx
  on public.google_calendar_tokens (refresh_token_used_at);
create index google_calendar_tokens_refresh_token_expires_at_idx
  on public.google_calendar_tokens (refresh_token_expires_at)
  where refresh_token_expires_at is not null;
create index google_calendar_tokens_expiring_idx
  on public.google_calendar_tokens (refresh_token_expires_at)
  where refresh_token_expires_at is not null and expiring_notified_at is null;
create index google_calendar_tokens_key_id_idx
  on public.google_calendar_tokens (key_id);
create index google_calendar_tokens_google_sub_idx
  on public.google_calendar_tokens (google_sub);

-- ---------------------------------------------------------------------------------------------
-- RLS: a signed-in user reads their own row's non-secret columns, and writes nothing.
-- ---------------------------------------------------------------------------------------------
drop policy "Users manage their own Google Calendar tokens" on public.google_calendar_tokens;

create policy "Users read their own Google Calendar connection"
  on public.google_calendar_tokens
  for select
  to authenticated
  using ((select auth.uid()) = user_id);

-- Column privileges do what a policy cannot: ciphertexts, leases, sub and key id stay unreadable.
revoke all on table public.google_calendar_tokens from anon, authenticated;
grant select (
  user_id, google_email, scopes, token_expiry, refresh_token_expires_at, connected_at,
  updated_at, last_refresh_at, last_refresh_error
) on table public.google_calendar_tokens to authenticated;
grant select, insert, update, delete on table public.google_calendar_tokens to service_role;
