-- Cross-Account Protection (RISC, issue 24): Google's Security Event Tokens about a Google
-- account act on every grant of that account (several app users may share one), in one
-- transaction with the webhook events they cause, and each SET's jti is remembered for a bounded
-- time so a replay changes nothing.
-- https://developers.google.com/identity/protocols/risc

-- ---------------------------------------------------------------------------------------------
-- The new webhook event: the grant is kept, the bot should warn the person.
-- ---------------------------------------------------------------------------------------------
-- The allowed types are read from the constraint as it stands and the new one added, so another
-- migration that added types of its own before this one keeps them.
do $$
declare
  v_types text[];
begin
  select array_agg(m[1]) into v_types
  from pg_constraint c,
       regexp_matches(pg_get_constraintdef(c.oid), '''([^'']+)''', 'g') as m
  where c.conrelid = 'public.google_calendar_webhook_events'::regclass
    and c.conname = 'google_calendar_webhook_events_type_check';
  v_types := array(
    select distinct t from unnest(v_types || array['google_calendar.security_notice']) t order by 1
  );
  alter table public.google_calendar_webhook_events
    drop constraint google_calendar_webhook_events_type_check;
  -- Written as `type in ('…', …)`, which reads back as ARRAY['…'::text, …]: the same shape the
  -- regexp above reads, for whichever migration does this next.
  execute format(
    'alter table public.google_calendar_webhook_events
       add constraint google_calendar_webhook_events_type_check check (type in (%s))',
    (select string_agg(quote_literal(t), ', ') from unnest(v_types) t)
  );
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Seen SETs: jti → when. Kept longer than the oldest iat the receiver accepts, so a replay is
-- refused by one check or the other.
-- ---------------------------------------------------------------------------------------------
create table public.google_risc_seen_events (
  jti text primary key check (char_length(jti) between 1 and 256),
  received_at timestamptz not null default now(),
  -- The event type URIs the SET carried, for the operator (never a subject or a state).
  event_types text[] not null default '{}'
);

comment on table public.google_risc_seen_events is
  'jti of each Security Event Token received from Google (RISC), for replay refusal. Service only.';

create index google_risc_seen_events_received_at_idx
  on public.google_risc_seen_events (received_at);

alter table public.google_risc_seen_events enable row level security;
revoke all on table public.google_risc_seen_events from anon, authenticated;
grant select, insert, update, delete on table public.google_risc_seen_events to service_role;

-- ---------------------------------------------------------------------------------------------
-- Applies one verified SET. p_actions is the receiver's reading of its events, an array of
--   { "action": "revoke" | "disable" | "notice" | "none", "google_sub": text | null,
--     "reason": text | null, "google_reason": text | null }
-- revoke:  every grant of google_sub is deleted; reconnect_required with `reason`; Google
--          already revoked the tokens, so nothing is queued for revocation.
-- disable: every grant is deleted; reconnect_required with `reason` and `google_reason`
--          (hijacking, bulk-account); the refresh tokens are queued for revocation.
-- notice:  the grants stay; google_calendar.security_notice with `reason` to each user.
-- none:    only the jti is recorded (verification, unknown event types).
-- Returns { duplicate, users: [ { user_id, action } ] }; a duplicate jti changes nothing.
-- ---------------------------------------------------------------------------------------------
create function public.google_risc_apply_event(
  p_jti text,
  p_event_types text[],
  p_actions jsonb,
  p_retention_seconds integer,
  p_webhooks boolean
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_action jsonb;
  v_kind text;
  v_sub text;
  v_reason text;
  v_google_reason text;
  v_row record;
  v_users jsonb := '[]'::jsonb;
begin
  if p_jti is null or char_length(p_jti) not between 1 and 256 then
    raise exception 'p_jti must be 1 to 256 characters' using errcode = '22023';
  end if;
  if p_retention_seconds is null or p_retention_seconds < 60 then
    raise exception 'p_retention_seconds must be at least 60' using errcode = '22023';
  end if;
  if jsonb_typeof(p_actions) is distinct from 'array' then
    raise exception 'p_actions must be a JSON array' using errcode = '22023';
  end if;
  perform public.google_calendar_sync_webhooks(p_webhooks);

  -- Old ids go a few at a time, so no call pays for a backlog.
  delete from public.google_risc_seen_events s
  where s.jti in (
    select o.jti from public.google_risc_seen_events o
    where o.received_at < now() - make_interval(secs => p_retention_seconds)
    order by o.received_at
    limit 100
  );

  insert into public.google_risc_seen_events (jti, event_types)
  values (p_jti, coalesce(p_event_types, '{}'))
  on conflict (jti) do nothing;
  if not found then
    return jsonb_build_object('duplicate', true, 'users', '[]'::jsonb);
  end if;

  for v_action in select a from jsonb_array_elements(p_actions) a loop
    v_kind := v_action ->> 'action';
    v_sub := nullif(v_action ->> 'google_sub', '');
    v_reason := v_action ->> 'reason';
    v_google_reason := v_action ->> 'google_reason';
    if v_kind not in ('revoke', 'disable', 'notice', 'none') then
      raise exception 'unknown action %', v_kind using errcode = '22023';
    end if;
    continue when v_kind = 'none' or v_sub is null;

    if v_kind = 'notice' then
      for v_row in
        select t.user_id, t.google_email from public.google_calendar_tokens t
        where t.google_sub = v_sub order by t.user_id
      loop
        perform public.google_calendar_enqueue_event(
          v_row.user_id,
          'google_calendar.security_notice',
          jsonb_build_object(
            'google_email', v_row.google_email, 'google_sub', v_sub, 'reason', v_reason
          )
        );
        v_users := v_users || jsonb_build_object('user_id', v_row.user_id, 'action', v_kind);
      end loop;
      continue;
    end if;

    -- revoke / disable: the delete trigger writes reconnect_required (with this reason) and
    -- disconnected, and queues the revocation when asked, as for any dead grant.
    perform set_config('google_calendar.delete_cause', 'reconnect_required', true);
    perform set_config('google_calendar.delete_reason', coalesce(v_reason, ''), true);
    perform set_config('google_calendar.revoked_at_google', (v_kind = 'revoke')::text, true);
    perform set_config('google_calendar.needs_revocation', (v_kind = 'disable')::text, true);
    for v_row in
      delete from public.google_calendar_tokens t where t.google_sub = v_sub
      returning t.user_id
    loop
      v_users := v_users || jsonb_build_object('user_id', v_row.user_id, 'action', v_kind);
      if v_google_reason is not null then
        -- Google's own reason joins the event the trigger just wrote in this transaction.
        update public.google_calendar_webhook_events e
        set payload = jsonb_set(e.payload, '{data,google_reason}', to_jsonb(v_google_reason))
        where e.user_id = v_row.user_id
          and e.type = 'google_calendar.reconnect_required'
          and e.created_at = now()
          and e.delivered_at is null;
      end if;
    end loop;
    perform set_config('google_calendar.delete_cause', '', true);
    perform set_config('google_calendar.delete_reason', '', true);
    perform set_config('google_calendar.revoked_at_google', '', true);
    perform set_config('google_calendar.needs_revocation', '', true);
  end loop;

  return jsonb_build_object('duplicate', false, 'users', v_users);
end;
$$;

revoke execute on function public.google_risc_apply_event(text, text[], jsonb, integer, boolean)
  from public, anon, authenticated;
grant execute on function public.google_risc_apply_event(text, text[], jsonb, integer, boolean)
  to service_role;
