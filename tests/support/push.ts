/**
 * Push notifications in tests: a connected user whose channel the test holds the token of (so it
 * can POST pushes as Google would), events changed at the emulator as another client, the
 * sync state and stop queue as SQL sees them, and the events_changed the bot's receiver got.
 */

import assert from "node:assert/strict";
import { hashChannelToken } from "../../supabase/functions/_google_calendar/push_channels.ts";
import { client, sql, stack, type TestUser } from "./stack.ts";
import { deliveries, waitFor } from "./webhooks.ts";

/** A channel the test opened (its token known to the test). */
export interface TestChannel {
  id: string;
  token: string;
  resourceId: string;
  userId: string;
}

/** A connected user, the Google account, and the kit's own channel once it is active. */
export interface WatchedUser {
  user: TestUser;
  google: string;
  /** The channel the kit opened on connect (its token unknown to the test). */
  kitChannel: string;
}

/** The user's active channel id, once there is one. */
export async function activeChannel(userId: string): Promise<string | undefined> {
  const [id] = await sql(
    `select id from public.google_calendar_channels where user_id = :'u' and state = 'active'`,
    { u: userId },
  );
  return id || undefined;
}

/** The sync state of `userId`: token present, due, leased, attempts, last error. */
export async function syncState(userId: string): Promise<
  | { token: boolean; due: boolean; leased: boolean; attempts: number; lastError: string | null }
  | null
> {
  const [row] = await sql(
    `select json_build_object('token', sync_token is not null, 'due', requested_at is not null,
       'leased', lease_until > now(), 'attempts', attempts, 'lastError', last_error)
     from public.google_calendar_sync_state where user_id = :'u'`,
    { u: userId },
  );
  return row ? JSON.parse(row) : null;
}

/**
 * A new user connected to a fresh Google account, once the kit's background work after the
 * connect is done: its channel active and the first sync token taken.
 */
export async function watchedUser(prefix: string): Promise<WatchedUser> {
  const { user, google } = await client.connectedUser(prefix);
  const kitChannel = await waitFor(`${prefix}: the kit's channel`, () => activeChannel(user.id));
  await waitFor(`${prefix}: the first sync token`, async () => {
    const state = await syncState(user.id);
    return state?.token && !state.due ? true : undefined;
  });
  return { user, google, kitChannel };
}

/**
 * Opens a channel for `userId` the way the kit does (begin, then activate), with a token the
 * test knows. It replaces the user's active channel (whose stop is queued).
 */
export async function testChannel(userId: string): Promise<TestChannel> {
  const channel = {
    id: crypto.randomUUID(),
    token: crypto.randomUUID() + crypto.randomUUID(),
    resourceId: `test-res-${crypto.randomUUID()}`,
    userId,
  };
  await sql(`select public.google_calendar_channel_begin(:'id', :'u', :'h')`, {
    id: channel.id,
    u: userId,
    h: await hashChannelToken(channel.token),
  });
  const [result] = await sql(
    `select public.google_calendar_channel_activate(:'id', :'u', :'r', now() + interval '7 days',
       now() + interval '5 days')`,
    { id: channel.id, u: userId, r: channel.resourceId },
  );
  assert.equal(result, "active");
  return channel;
}

/** POSTs one notification to google-calendar-push as Google would. */
export async function push(
  channel: Pick<TestChannel, "id" | "token" | "resourceId">,
  state: "sync" | "exists" | "not_exists",
  messageNumber: number,
  extra: Record<string, string> = {},
): Promise<{ status: number; outcome: string | null }> {
  const res = await fetch(`${stack.functions_url}/google-calendar-push`, {
    method: "POST",
    headers: {
      "x-goog-channel-id": channel.id,
      "x-goog-channel-token": channel.token,
      "x-goog-resource-id": channel.resourceId,
      "x-goog-resource-state": state,
      "x-goog-resource-uri": "https://www.googleapis.com/calendar/v3/calendars/primary/events",
      "x-goog-message-number": String(messageNumber),
      "x-goog-channel-expiration": new Date(Date.now() + 86_400_000).toUTCString(),
      ...extra,
    },
    body: "",
  });
  await res.body?.cancel();
  return { status: res.status, outcome: res.headers.get("x-push-outcome") };
}

/** Creates an event in `google`'s primary calendar as another client (the person at Google). */
export async function createEvent(
  google: string,
  summary: string,
  hoursAhead = 24,
): Promise<string> {
  const start = new Date(Date.now() + hoursAhead * 3600_000);
  start.setUTCMinutes(0, 0, 0);
  const end = new Date(start.getTime() + 3600_000);
  const event = await client.emulatorControl("calendar/events", {
    email: google,
    event: {
      summary,
      start: { dateTime: start.toISOString() },
      end: { dateTime: end.toISOString() },
    },
  }) as { id: string };
  return event.id;
}

/** Cancels (deletes) an event as another client. */
export async function deleteEvent(google: string, eventId: string): Promise<void> {
  await client.emulatorControl("calendar/events/delete", { email: google, eventId });
}

/** One changed event as the bot received it. */
export interface ReceivedChange {
  id: string;
  status: string;
  summary: string | null;
  resync: boolean;
  webhookId: string;
}

/** Every change in the events_changed deliveries the receiver answered 2xx, in arrival order. */
export async function receivedChanges(userId: string): Promise<ReceivedChange[]> {
  const changes: ReceivedChange[] = [];
  for (const d of await deliveries(userId)) {
    if (d.answered < 200 || d.answered >= 300) continue;
    const body = JSON.parse(d.body);
    if (body.type !== "google_calendar.events_changed") continue;
    for (const e of body.data.events) {
      changes.push({
        id: e.id,
        status: e.status,
        summary: e.summary,
        resync: body.data.resync,
        webhookId: d.headers["webhook-id"],
      });
    }
  }
  return changes;
}

/** Waits until the receiver got a change of `eventId` (with `status`, if given). */
export function receivedChange(
  userId: string,
  eventId: string,
  status?: string,
  timeoutMs = 20_000,
): Promise<ReceivedChange> {
  return waitFor(`a change of ${eventId} for ${userId}`, async () => {
    const changes = await receivedChanges(userId);
    return changes.find((c) => c.id === eventId && (!status || c.status === status));
  }, timeoutMs);
}

/** Queued stops of `userId`'s channels: channel id and cause. */
export async function queuedStops(userId: string): Promise<{ channel: string; cause: string }[]> {
  const rows = await sql(
    `select json_build_object('channel', channel_id, 'cause', cause)
     from public.google_calendar_channel_stops where user_id = :'u' order by created_at`,
    { u: userId },
  );
  return rows.map((r) => JSON.parse(r));
}
