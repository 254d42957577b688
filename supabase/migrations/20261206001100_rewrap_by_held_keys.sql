-- Key re-wrap (issue 21, finding 5): the batches named any key but the current one, with no order
-- and no cursor, so 200 rows under a key the keyring no longer holds (undecryptable, never
-- re-wrapped) could come back first on every pass and stall the rotation for good. These take
-- the old key ids the keyring holds: rows under a removed key are never claimed (they stay
-- visible in google_maintenance_key_counts, for the operator to restore the key or delete them).

create function public.google_maintenance_rewrap_batch_held(p_key_ids text[], p_limit integer)
returns table (
  user_id uuid,
  grant_id uuid,
  key_id text,
  access_token text,
  refresh_token text
)
language plpgsql
security invoker
set search_path = ''
as $$
begin
  return query
  -- plan-checked
  select t.user_id, t.grant_id, t.key_id, t.access_token, t.refresh_token
  from public.google_calendar_tokens t
  where t.key_id = any(p_key_ids)
  limit p_limit;
end;
$$;

revoke execute on function public.google_maintenance_rewrap_batch_held(text[], integer)
  from public, anon, authenticated;
grant execute on function public.google_maintenance_rewrap_batch_held(text[], integer)
  to service_role;

create function public.google_calendar_revocation_rewrap_batch_held(p_key_ids text[], p_limit integer)
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
  where r.key_id = any(p_key_ids)
  limit p_limit;
end;
$$;

revoke execute on function public.google_calendar_revocation_rewrap_batch_held(text[], integer)
  from public, anon, authenticated;
grant execute on function public.google_calendar_revocation_rewrap_batch_held(text[], integer)
  to service_role;
