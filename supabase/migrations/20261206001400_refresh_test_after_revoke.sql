-- Finding 3 of issue 21, for google-disconnect: its revoke runs after its "is this account linked
-- to anyone else?" check (under the account's lock), so another user's grant of the account found
-- after the revoke was saved since, and may have been ended by it. Such grants are marked for the
-- next maintenance pass's keep-alive (refresh_token_used_at = -infinity: claimed first), whose
-- refresh is the test: invalid_grant deletes the grant as reconnect_required, and the bot hears.
-- Returns how many were marked.
create function public.google_calendar_test_account_grants(
  p_google_sub text,
  p_except_user_id uuid
)
returns integer
language sql
security invoker
set search_path = ''
as $$
  with marked as (
    update public.google_calendar_tokens t
    set refresh_token_used_at = '-infinity'
    where t.google_sub = p_google_sub
      and (p_except_user_id is null or t.user_id <> p_except_user_id)
    returning 1
  )
  select count(*)::integer from marked;
$$;

revoke execute on function public.google_calendar_test_account_grants(text, uuid)
  from public, anon, authenticated;
grant execute on function public.google_calendar_test_account_grants(text, uuid) to service_role;
