/**
 * google-calendar-push: where Google POSTs push notifications (issue 23). Public, with no
 * Authorization: it trusts only Google's headers, checked against what we stored when we opened
 * the channel (https://developers.google.com/workspace/calendar/api/guides/push#receiving-notifications):
 *
 * - X-Goog-Channel-ID: a channel we opened (a random UUID);
 * - X-Goog-Channel-Token: the channel's secret, whose SHA-256 is compared in constant time;
 * - X-Goog-Resource-ID: the resource Google said the channel watches;
 * - X-Goog-Resource-State: `sync` (the channel's hello) or `exists`/`not_exists` (a change);
 * - X-Goog-Message-Number: checked to be a number; order does not matter (a sync reads state).
 *
 * The body is never read. A change of a serving channel requests a sync of its user, coalesced in
 * the database (a burst of pushes → one sync), run in the background after the answer. Anything
 * else (unknown channel, wrong token, a replaced channel) is answered 200 so that Google does not
 * retry, and changes nothing, except that a replaced channel we know gets its stop queued once.
 * Only a database failure answers 503, which Google retries with backoff.
 */

import { constantTimeEqual, hashChannelToken } from "../_google_calendar/push_channels.ts";
import { SECURITY_HEADERS } from "../_google_calendar/http.ts";
import { isUuid } from "../_google_calendar/ids.ts";
import { type AdminClient } from "../_google_calendar/supabase_admin.ts";

/** What the handler needs, explicitly. */
export interface PushDeps {
  db: AdminClient;
  /** A sync was just requested for `userId`: start it in the background (syncSoon). */
  onSyncQueued(userId: string): void;
  /**
   * True when a sync of `userId` is about to start in this process and has not claimed yet: it
   * will read this change too, so the push needs no database write (calendar_sync's
   * syncPending).
   */
  syncPending?(userId: string): boolean;
}

/** A channel as the database described it, kept briefly per process. */
interface KnownChannel {
  tokenHash: string;
  resourceId: string | null;
  userId: string;
  until: number;
}

/**
 * Channels looked up in the last minute, so Google's messages for one channel cost one lookup a
 * minute. Only what cannot change is trusted from it (the token's hash, the resource, the user);
 * whether the channel still serves is checked by google_calendar_push_exists on every change.
 */
const CACHE_MS = 60_000;
const CACHE_MAX = 10_000;

/** What a push came to, for the log line and the tests. */
export type PushOutcome =
  | "hello"
  | "queued"
  | "coalesced"
  | "replaced"
  | "ignored";

const RESOURCE_STATES = new Set(["sync", "exists", "not_exists"]);
const MAX_HEADER = 512;

/** The google-calendar-push handler over `deps`. */
export function createPushHandler(deps: PushDeps): (req: Request) => Promise<Response> {
  const known = new Map<string, KnownChannel>();
  return async (req) => {
    if (req.method !== "POST") {
      return new Response(null, {
        status: 405,
        headers: { ...SECURITY_HEADERS, allow: "POST", "x-error-code": "method_not_allowed" },
      });
    }
    // Never read; released so the connection can be reused.
    await req.body?.cancel().catch(() => {});
    let outcome: PushOutcome;
    try {
      outcome = await receive(deps, req.headers, known);
    } catch {
      console.error("google-calendar-push: database unavailable");
      return new Response(null, {
        status: 503,
        headers: { ...SECURITY_HEADERS, "x-error-code": "database_unavailable" },
      });
    }
    return new Response(null, {
      status: 200,
      headers: { ...SECURITY_HEADERS, "x-push-outcome": outcome },
    });
  };
}

/** Checks one notification's headers and acts on them. Throws only for a database failure. */
export async function receive(
  deps: PushDeps,
  headers: Headers,
  known: Map<string, KnownChannel> = new Map(),
): Promise<PushOutcome> {
  const channelId = headers.get("x-goog-channel-id") ?? "";
  const token = headers.get("x-goog-channel-token") ?? "";
  const resourceId = headers.get("x-goog-resource-id") ?? "";
  const state = headers.get("x-goog-resource-state") ?? "";
  const messageNumber = headers.get("x-goog-message-number") ?? "";
  if (
    !isUuid(channelId) || !token || token.length > MAX_HEADER || !resourceId ||
    resourceId.length > MAX_HEADER || !RESOURCE_STATES.has(state) ||
    !/^\d{1,20}$/.test(messageNumber)
  ) {
    return "ignored";
  }
  const channel = await lookup(deps, channelId, known);
  // Hashed either way, so an unknown id costs what a known one does.
  const hash = await hashChannelToken(token);
  if (!channel || !constantTimeEqual(hash, channel.tokenHash)) return "ignored";
  if (channel.resourceId !== null && channel.resourceId !== resourceId) return "ignored";
  if (state === "sync") return "hello";
  if (deps.syncPending?.(channel.userId)) return "coalesced";

  const marked = await deps.db.rpc("google_calendar_push_exists", { p_channel_id: channelId });
  if (marked.error) throw marked.error;
  const row = marked.data?.[0];
  if (!row || row.result === "unknown") return "ignored";
  if (row.result === "queued" && row.user_id) deps.onSyncQueued(row.user_id);
  return row.result as PushOutcome;
}

/** The channel's fixed facts, from the cache or the database; null for a channel we never opened. */
async function lookup(
  deps: PushDeps,
  channelId: string,
  known: Map<string, KnownChannel>,
): Promise<KnownChannel | null> {
  const cached = known.get(channelId);
  if (cached && cached.until > Date.now()) return cached;
  const found = await deps.db.rpc("google_calendar_push_channel", { p_channel_id: channelId });
  if (found.error) throw found.error;
  const row = found.data?.[0];
  if (!row) return null;
  const channel = {
    tokenHash: row.token_hash,
    resourceId: row.resource_id as string | null,
    userId: row.user_id,
    until: Date.now() + CACHE_MS,
  };
  // An opening channel has no resource id yet: not cached until it has one.
  if (channel.resourceId !== null) {
    if (known.size >= CACHE_MAX) known.delete(known.keys().next().value!);
    known.set(channelId, channel);
  }
  return channel;
}
