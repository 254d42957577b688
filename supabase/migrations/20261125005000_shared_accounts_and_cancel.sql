-- Revoking any token at Google ends the whole grant of that Google account to our client, every
-- refresh token of it included. So a revocation must never reach a Google account some row still
-- holds (another app user linked to it, or this user reconnected to it), and a grant replaced by
-- another account's is revoked like a deleted one. A disconnect also cancels the user's unused
-- consent links.

-- Reconnecting to a different Google account queues the replaced account's refresh token for
-- revocation (the runner skips it while that account is still linked to any user). The same
-- account's old refresh token is not queued: revoking it would end the new grant too.
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

-- As before, and a disconnect (p_cause 'disconnect') also deletes the user's pending consent
-- links, connected or not: "not you? reply disconnect" must stop a link still in the wild.
create or replace function public.google_calendar_delete_grant(
  p_user_id uuid,
  p_grant_id uuid,
  p_cause text,
  p_reason text,
  p_revoked_at_google boolean,
  p_needs_revocation boolean,
  p_webhooks boolean
)
returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_deleted boolean;
begin
  perform public.google_calendar_sync_webhooks(p_webhooks);
  perform set_config('google_calendar.delete_cause', coalesce(p_cause, ''), true);
  perform set_config('google_calendar.delete_reason', coalesce(p_reason, ''), true);
  perform set_config('google_calendar.revoked_at_google', coalesce(p_revoked_at_google, false)::text, true);
  perform set_config('google_calendar.needs_revocation', coalesce(p_needs_revocation, true)::text, true);

  delete from public.google_calendar_tokens t
  where t.user_id = p_user_id
    and (p_grant_id is null or t.grant_id = p_grant_id);
  v_deleted := found;

  if p_cause = 'disconnect' then
    delete from public.google_oauth_pending_flows f where f.user_id = p_user_id;
  end if;

  -- Later deletes in the same transaction must not inherit this call's cause.
  perform set_config('google_calendar.delete_cause', '', true);
  perform set_config('google_calendar.delete_reason', '', true);
  perform set_config('google_calendar.revoked_at_google', '', true);
  perform set_config('google_calendar.needs_revocation', '', true);
  return v_deleted;
end;
$$;

-- The Google accounts (of p_google_subs) some row holds now, other than p_except_user_id's: a
-- revocation for them would end that row's grant too.
create function public.google_calendar_linked_accounts(
  p_google_subs text[],
  p_except_user_id uuid
)
returns setof text
language sql
stable
security invoker
set search_path = ''
as $$
  select distinct t.google_sub from public.google_calendar_tokens t
  where t.google_sub = any(p_google_subs)
    and (p_except_user_id is null or t.user_id <> p_except_user_id);
$$;

revoke execute on function public.google_calendar_linked_accounts(text[], uuid)
  from public, anon, authenticated;
grant execute on function public.google_calendar_linked_accounts(text[], uuid) to service_role;

-- Keep-alive claims skip the users this pass already tried (p_exclude): a row no refresh can
-- help (no calendar scope, undecryptable) stays oldest, and must not crowd out the rest.
drop function public.google_maintenance_claim_keepalive(timestamptz, integer, uuid, integer);

create function public.google_maintenance_claim_keepalive(
  p_used_before timestamptz,
  p_limit integer,
  p_lease_id uuid,
  p_lease_seconds integer,
  p_exclude uuid[]
)
returns table (user_id uuid, grant_id uuid)
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return query
  -- plan-checked
  with due as (
    select t.user_id from public.google_calendar_tokens t
    where t.refresh_token_used_at < p_used_before
      and (t.refresh_lease_until is null or t.refresh_lease_until < now())
      and (t.refresh_token_expires_at is null or t.refresh_token_expires_at > now())
      and t.user_id <> all(coalesce(p_exclude, '{}'))
    order by t.refresh_token_used_at
    limit p_limit
    for update of t skip locked
  )
  update public.google_calendar_tokens g
  set refresh_lease_id = p_lease_id,
      refresh_lease_until = now() + make_interval(secs => p_lease_seconds)
  from due d
  where g.user_id = d.user_id
  returning g.user_id, g.grant_id;
end;
$$;

revoke execute on function public.google_maintenance_claim_keepalive(timestamptz, integer, uuid, integer, uuid[])
  from public, anon, authenticated;
grant execute on function public.google_maintenance_claim_keepalive(timestamptz, integer, uuid, integer, uuid[])
  to service_role;
