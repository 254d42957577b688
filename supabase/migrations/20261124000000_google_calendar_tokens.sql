-- Per-user Google Calendar OAuth tokens.
-- One row per Supabase user; the row disappears with the user.

create table public.google_calendar_tokens (
  user_id uuid primary key references auth.users (id) on delete cascade,
  access_token text not null,
  refresh_token text not null,
  token_expiry timestamptz,
  scopes text[],
  updated_at timestamptz default now()
);

comment on table public.google_calendar_tokens is
  'Google OAuth tokens per user. Written by the google-callback Edge Function with service credentials.';

-- RLS in the same migration, so the table is never exposed without it.
alter table public.google_calendar_tokens enable row level security;

-- anon gets nothing: no policy names it, and its privileges are revoked as well.
revoke all on table public.google_calendar_tokens from anon;
-- RLS does not apply to TRUNCATE (nor to REFERENCES or TRIGGER): users get none of them.
revoke truncate, references, trigger on table public.google_calendar_tokens from authenticated;

-- (select auth.uid()) is evaluated once per statement, not once per row (Supabase advisor auth_rls_initplan).
create policy "Users manage their own Google Calendar tokens"
  on public.google_calendar_tokens
  for all
  to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);
