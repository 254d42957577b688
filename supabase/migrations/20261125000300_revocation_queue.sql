-- Deleting a token row by any path (issues 12, 13): the disconnected event, and the encrypted
-- refresh token kept in a revocation queue until Google's revoke succeeds, both written by an
-- AFTER DELETE trigger in the deleting transaction.

create table public.google_calendar_revocations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  google_sub text,
  -- The refresh token exactly as stored: a JWE bound to user_id and the field refresh_token.
  -- Never plaintext.
  refresh_token text not null,
  -- kid of refresh_token's JWE header, kept true by trigger (re-wrap finds old keys by it).
  key_id text,
  cause text,
  created_at timestamptz not null default now(),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  lease_id uuid,
  lease_until timestamptz,
  last_error text
);

comment on table public.google_calendar_revocations is
  'Encrypted refresh tokens of deleted grants, kept until Google revokes them. Service only.';

create index google_calendar_revocations_due_idx
  on public.google_calendar_revocations (next_attempt_at);
create index google_calendar_revocations_key_id_idx
  on public.google_calendar_revocations (key_id);

create trigger google_calendar_revocations_set_key_id
  before insert or update of refresh_token, key_id on public.google_calendar_revocations
  for each row execute function public.google_calendar_set_key_id();

alter table public.google_calendar_revocations enable row level security;
revoke all on table public.google_calendar_revocations from anon, authenticated;
grant select, insert, update, delete on table public.google_calendar_revocations to service_role;

-- ---------------------------------------------------------------------------------------------
-- The delete trigger. What the deleting RPC knows travels in transaction-local settings:
--   google_calendar.delete_cause, .delete_reason, .revoked_at_google, .needs_revocation.
-- Without them (SQL by hand, the cascade from auth.users) the cause is 'user_deleted' when the
-- auth user is gone, else 'deleted', and the refresh token is queued for revocation.
-- security definer: it reads auth.users, and the cascade may run as the auth service's role.
-- ---------------------------------------------------------------------------------------------
create function public.google_calendar_tokens_deleted()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_cause text := nullif(current_setting('google_calendar.delete_cause', true), '');
  v_reason text := nullif(current_setting('google_calendar.delete_reason', true), '');
  v_revoked boolean :=
    coalesce(nullif(current_setting('google_calendar.revoked_at_google', true), ''), 'false')::boolean;
  v_needs_revocation boolean :=
    coalesce(nullif(current_setting('google_calendar.needs_revocation', true), ''), 'true')::boolean;
begin
  if v_cause is null then
    v_cause := case
      when exists (select 1 from auth.users u where u.id = old.user_id) then 'deleted'
      else 'user_deleted'
    end;
  end if;

  if v_cause = 'reconnect_required' then
    perform public.google_calendar_enqueue_event(
      old.user_id,
      'google_calendar.reconnect_required',
      jsonb_build_object('google_email', old.google_email, 'reason', v_reason)
    );
  end if;

  perform public.google_calendar_enqueue_event(
    old.user_id,
    'google_calendar.disconnected',
    jsonb_build_object(
      'google_email', old.google_email,
      'cause', v_cause,
      'revoked_at_google', v_revoked
    )
  );

  if v_needs_revocation and not v_revoked then
    insert into public.google_calendar_revocations (user_id, google_sub, refresh_token, cause)
    values (old.user_id, old.google_sub, old.refresh_token, v_cause);
  end if;
  return null;
end;
$$;

revoke execute on function public.google_calendar_tokens_deleted() from public, anon, authenticated;

create trigger google_calendar_tokens_deleted
  after delete on public.google_calendar_tokens
  for each row execute function public.google_calendar_tokens_deleted();

-- Deletes a user's grant (p_grant_id null = whatever row is stored; else only that grant, so a
-- newer consent survives). The trigger writes the events and the queue row. True when deleted.
create function public.google_calendar_delete_grant(
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

  -- Later deletes in the same transaction must not inherit this call's cause.
  perform set_config('google_calendar.delete_cause', '', true);
  perform set_config('google_calendar.delete_reason', '', true);
  perform set_config('google_calendar.revoked_at_google', '', true);
  perform set_config('google_calendar.needs_revocation', '', true);
  return v_deleted;
end;
$$;

revoke execute on function public.google_calendar_delete_grant(uuid, uuid, text, text, boolean, boolean, boolean)
  from public, anon, authenticated;
grant execute on function public.google_calendar_delete_grant(uuid, uuid, text, text, boolean, boolean, boolean)
  to service_role;

-- ---------------------------------------------------------------------------------------------
-- The queue's runner
-- ---------------------------------------------------------------------------------------------
-- Leases up to p_limit due entries; rows another runner locks or leases are skipped.
create function public.google_calendar_revocation_claim(p_limit integer, p_lease_seconds integer)
returns table (
  id uuid,
  user_id uuid,
  google_sub text,
  refresh_token text,
  key_id text,
  cause text,
  attempts integer,
  lease_id uuid
)
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return query
  -- plan-checked
  with claimable as (
    select r.id from public.google_calendar_revocations r
    where r.next_attempt_at <= now()
      and (r.lease_until is null or r.lease_until < now())
    order by r.next_attempt_at
    limit p_limit
    for update of r skip locked
  )
  update public.google_calendar_revocations q
  set lease_id = gen_random_uuid(),
      lease_until = now() + make_interval(secs => p_lease_seconds),
      attempts = q.attempts + 1
  from claimable c
  where q.id = c.id
  returning q.id, q.user_id, q.google_sub, q.refresh_token, q.key_id, q.cause, q.attempts, q.lease_id;
end;
$$;

revoke execute on function public.google_calendar_revocation_claim(integer, integer) from public, anon, authenticated;
grant execute on function public.google_calendar_revocation_claim(integer, integer) to service_role;

-- done: Google revoked it or says it is invalid → the entry goes. retry: backoff
-- 60 s × 2^(attempts-1), capped at 6 h, ±25 %. Only the lease holder settles.
create function public.google_calendar_revocation_settle(
  p_id uuid,
  p_lease_id uuid,
  p_outcome text,
  p_error text
)
returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if p_outcome = 'done' then
    delete from public.google_calendar_revocations r
    where r.id = p_id and r.lease_id = p_lease_id;
    return found;
  elsif p_outcome = 'retry' then
    update public.google_calendar_revocations r
    set lease_id = null,
        lease_until = null,
        last_error = left(p_error, 200),
        next_attempt_at = now() + make_interval(secs =>
          least(60 * power(2, greatest(r.attempts - 1, 0)), 21600) * (0.75 + random() * 0.5))
    where r.id = p_id and r.lease_id = p_lease_id;
    return found;
  end if;
  raise exception 'unknown outcome %', p_outcome using errcode = '22023';
end;
$$;

revoke execute on function public.google_calendar_revocation_settle(uuid, uuid, text, text)
  from public, anon, authenticated;
grant execute on function public.google_calendar_revocation_settle(uuid, uuid, text, text)
  to service_role;

-- Re-wrap: entries under a key other than p_current_key_id (index on key_id; written as two
-- ranges because a btree cannot serve `<>`).
create function public.google_calendar_revocation_rewrap_batch(p_current_key_id text, p_limit integer)
returns table (id uuid, user_id uuid, key_id text, refresh_token text)
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return query
  -- plan-checked
  select r.id, r.user_id, r.key_id, r.refresh_token
  from public.google_calendar_revocations r
  where r.key_id < p_current_key_id or r.key_id > p_current_key_id
  limit p_limit;
end;
$$;

revoke execute on function public.google_calendar_revocation_rewrap_batch(text, integer) from public, anon, authenticated;
grant execute on function public.google_calendar_revocation_rewrap_batch(text, integer) to service_role;

-- Stores a re-wrapped ciphertext when the entry is still under the key it was read under.
create function public.google_calendar_revocation_rewrap(
  p_id uuid,
  p_old_key_id text,
  p_refresh_token text
)
returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
begin
  update public.google_calendar_revocations r
  set refresh_token = p_refresh_token
  where r.id = p_id and r.key_id = p_old_key_id;
  return found;
end;
$$;

revoke execute on function public.google_calendar_revocation_rewrap(uuid, text, text) from public, anon, authenticated;
grant execute on function public.google_calendar_revocation_rewrap(uuid, text, text) to service_role;
