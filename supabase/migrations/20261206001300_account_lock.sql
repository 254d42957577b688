-- Finding 3 of issue 21: a revocation could kill a consent that landed during it. Revoking a
-- refresh token at Google ends the whole grant of that Google account, so the runner first asks
-- whether any row holds the account. That check and save_grant now take one per-account lock
-- (an advisory lock on the google_sub), so a consent is either seen by the check (and the entry
-- dropped) or saved after it, and then found by google_calendar_account_holders once the revoke
-- is done, and tested with a refresh (a dead grant becomes reconnect_required).

create or replace function public.google_calendar_save_grant(
  p_user_id uuid,
  p_access_token text,
  p_refresh_token text,
  p_keep_grant_id uuid,
  p_token_expiry timestamptz,
  p_refresh_token_expires_at timestamptz,
  p_scopes text[],
  p_google_sub text,
  p_google_email text,
  p_webhooks boolean
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_grant_id uuid;
  v_reconnected boolean;
  v_old public.google_calendar_tokens;
begin
  perform public.google_calendar_sync_webhooks(p_webhooks);
  -- The account's lock, shared with the revocation runner's "is this account linked?" check:
  -- the check sees this grant if it commits first, and otherwise the runner finds it after its
  -- revoke (google_calendar_account_holders) and tests it.
  if p_google_sub is not null then
    perform pg_advisory_xact_lock(hashtextextended('google_calendar_account:' || p_google_sub, 0));
  end if;

  if p_refresh_token is null then
    update public.google_calendar_tokens t
    set access_token = p_access_token,
        grant_id = gen_random_uuid(),
        connected_at = now(),
        token_expiry = p_token_expiry,
        refresh_token_expires_at = coalesce(p_refresh_token_expires_at, t.refresh_token_expires_at),
        scopes = p_scopes,
        google_email = p_google_email,
        refresh_lease_id = null,
        refresh_lease_until = null,
        last_refresh_error = null,
        expiring_notified_at = null,
        updated_at = now()
    where t.user_id = p_user_id
      and p_keep_grant_id is not null
      and t.grant_id = p_keep_grant_id
      and t.google_sub = p_google_sub
    returning t.grant_id into v_grant_id;

    if v_grant_id is null then
      update public.google_calendar_tokens t
      set last_refresh_error = 'google_refresh_token_missing', updated_at = now()
      where t.user_id = p_user_id;
      return jsonb_build_object(
        'saved', false, 'reconnected', found, 'grant_id', null,
        'google_account_linked_to_other_users', false
      );
    end if;
    v_reconnected := true;
  else
    -- One save per user at a time: with no row yet there is nothing to lock, and a second save
    -- would overwrite the first one's refresh token without seeing (and queueing) it.
    perform pg_advisory_xact_lock(hashtextextended('google_calendar_save_grant:' || p_user_id::text, 0));
    -- The row being replaced, locked until the upsert below rewrites it.
    select * into v_old from public.google_calendar_tokens t
    where t.user_id = p_user_id
    for update;

    insert into public.google_calendar_tokens as t (
      user_id, access_token, refresh_token, token_expiry, refresh_token_expires_at, scopes,
      google_sub, google_email, refresh_token_used_at
    )
    values (
      p_user_id, p_access_token, p_refresh_token, p_token_expiry, p_refresh_token_expires_at,
      p_scopes, p_google_sub, p_google_email, now()
    )
    on conflict (user_id) do update
    set access_token = excluded.access_token,
        refresh_token = excluded.refresh_token,
        grant_id = excluded.grant_id,
        connected_at = now(),
        token_expiry = excluded.token_expiry,
        refresh_token_expires_at = excluded.refresh_token_expires_at,
        refresh_token_used_at = now(),
        scopes = excluded.scopes,
        google_sub = excluded.google_sub,
        google_email = excluded.google_email,
        refresh_lease_id = null,
        refresh_lease_until = null,
        last_refresh_error = null,
        expiring_notified_at = null,
        updated_at = now()
    -- xmax is set on the row version an ON CONFLICT update wrote, 0 on a fresh insert.
    returning t.grant_id, (t.xmax <> '0'::xid) into v_grant_id, v_reconnected;

    -- Only a known other account: an old row without google_sub may be this same account.
    if v_old.google_sub is not null and v_old.google_sub <> p_google_sub then
      insert into public.google_calendar_revocations (user_id, google_sub, refresh_token, cause)
      values (v_old.user_id, v_old.google_sub, v_old.refresh_token, 'replaced');
    end if;
  end if;

  return jsonb_build_object(
    'saved', true,
    'reconnected', v_reconnected,
    'grant_id', v_grant_id,
    'google_account_linked_to_other_users', p_google_sub is not null and exists (
      select 1 from public.google_calendar_tokens o
      where o.google_sub = p_google_sub and o.user_id <> p_user_id
    )
  );
end;
$$;

-- The Google accounts (of p_google_subs) some row holds now, other than p_except_user_id's, under
-- each account's lock (taken in a fixed order): a save_grant in flight for one of them is waited
-- for, never missed. The locks last until this call's transaction ends.
create function public.google_calendar_linked_accounts_locked(
  p_google_subs text[],
  p_except_user_id uuid
)
returns setof text
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_sub text;
begin
  for v_sub in select distinct s from unnest(p_google_subs) as s where s is not null order by 1 loop
    perform pg_advisory_xact_lock(hashtextextended('google_calendar_account:' || v_sub, 0));
  end loop;
  return query
  select distinct t.google_sub from public.google_calendar_tokens t
  where t.google_sub = any(p_google_subs)
    and (p_except_user_id is null or t.user_id <> p_except_user_id);
end;
$$;

revoke execute on function public.google_calendar_linked_accounts_locked(text[], uuid)
  from public, anon, authenticated;
grant execute on function public.google_calendar_linked_accounts_locked(text[], uuid)
  to service_role;

-- The users whose stored grant is of p_google_sub: after a revoke of that account, the grants
-- saved since the check (there were none at the check), to be tested.
create function public.google_calendar_account_holders(p_google_sub text)
returns setof uuid
language sql
stable
security invoker
set search_path = ''
as $$
  select t.user_id from public.google_calendar_tokens t where t.google_sub = p_google_sub;
$$;

revoke execute on function public.google_calendar_account_holders(text)
  from public, anon, authenticated;
grant execute on function public.google_calendar_account_holders(text) to service_role;
