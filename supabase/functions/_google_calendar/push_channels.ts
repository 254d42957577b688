/**
 * Google push channels on a user's primary calendar (issue 23): opening one (events.watch),
 * stopping one (channels.stop), and the channel token's hash. The database decides which channel
 * serves a user (google_calendar_channel_activate); a trigger on the grant queues the stops of
 * every channel when the grant dies or changes account.
 *
 * Google's reference: https://developers.google.com/workspace/calendar/api/guides/push and
 * https://developers.google.com/workspace/calendar/api/v3/reference/events/watch.
 */

import { base64url } from "jose";
import { AppError } from "./errors.ts";
import { classifyRefusal, googleErrorReasons, parseRetryAfter } from "./google_fetch.ts";
import { type AdminClient, databaseError } from "./supabase_admin.ts";

/** events.watch on the user's primary calendar. */
export const WATCH_PATH = "/calendar/v3/calendars/primary/events/watch";
/** channels.stop. */
export const STOP_PATH = "/calendar/v3/channels/stop";

/** What opening and stopping channels need. */
export interface ChannelDeps {
  db: AdminClient;
  /** A valid access token of the user (the core's access-token provider). */
  accessToken(userId: string): Promise<string>;
  /** Google's API base (https://www.googleapis.com, or the emulator's). */
  apiBaseUrl: string;
  /** The push function's public address; null: push is off. */
  pushAddress: string | null;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** The outcome of {@linkcode openChannel}. */
export type OpenResult =
  | { result: "active"; channelId: string; expiration: Date }
  /** The grant died or changed account while the watch was in flight: stopped again. */
  | { result: "orphaned"; channelId: string }
  /** No grant (or push is off): nothing was opened. */
  | { result: "skipped" };

/** SHA-256 of a channel token, hex: the only form the database holds. */
export async function hashChannelToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two strings in time that depends only on their length (hex hashes: equal lengths). */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i % Math.max(y.length, 1)] ?? 0);
  return diff === 0;
}

/**
 * When to renew a channel expiring at `expiration`: a random point between 60 % and 85 % of the
 * time left, so channels opened together (a launch, a migration) renew spread out, and a renewal
 * that fails has days to be retried before the channel lapses.
 */
export function renewalTime(expiration: Date, now = Date.now(), random = Math.random()): Date {
  const left = Math.max(expiration.getTime() - now, 0);
  return new Date(now + left * (0.6 + 0.25 * random));
}

/**
 * Opens a channel for `userId`'s primary calendar and makes it the user's serving one (the
 * previous one is replaced and its stop queued). A random id and a random token, stored only as
 * a hash; the row exists before the watch call, as Google's `sync` message may come first.
 * Throws AppError (google_*, database_unavailable) when Google or the database fails; nothing
 * is left behind then but an opening row the housekeeping purges.
 */
export async function openChannel(deps: ChannelDeps, userId: string): Promise<OpenResult> {
  if (!deps.pushAddress) return { result: "skipped" };
  const channelId = crypto.randomUUID();
  const token = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const begun = await deps.db.rpc("google_calendar_channel_begin", {
    p_channel_id: channelId,
    p_user_id: userId,
    p_token_hash: await hashChannelToken(token),
  });
  if (begun.error) throw databaseError(begun.error);
  if (begun.data === null) return { result: "skipped" };

  let accessToken: string;
  let answer: { resourceId?: unknown; expiration?: unknown };
  try {
    accessToken = await deps.accessToken(userId);
    const response = await callGoogle(deps, accessToken, WATCH_PATH, {
      id: channelId,
      type: "web_hook",
      address: deps.pushAddress,
      token,
    });
    answer = await response.json().catch(() => ({}));
  } catch (error) {
    await deps.db.rpc("google_calendar_channel_abandon", { p_channel_id: channelId });
    if (error instanceof GoogleRefusal) {
      throw new AppError("google_error", "Google Calendar refused to open a push channel.", {
        cause: { name: "GoogleApiError", code: String(error.status) },
      });
    }
    throw error;
  }
  const resourceId = typeof answer.resourceId === "string" ? answer.resourceId : null;
  const expirationMs = Number(answer.expiration);
  if (!resourceId || !Number.isFinite(expirationMs)) {
    await deps.db.rpc("google_calendar_channel_abandon", { p_channel_id: channelId });
    throw new AppError("google_unavailable", "Google Calendar sent an unexpected watch answer.");
  }
  const expiration = new Date(expirationMs);
  const activated = await deps.db.rpc("google_calendar_channel_activate", {
    p_channel_id: channelId,
    p_user_id: userId,
    p_resource_id: resourceId,
    p_expiration: expiration.toISOString(),
    p_renew_at: renewalTime(expiration).toISOString(),
  });
  if (activated.error) throw databaseError(activated.error);
  if (activated.data !== "active") {
    // The grant went (or changed account) meanwhile: its trigger could not see this channel.
    await stopChannel(deps, { channelId, resourceId, accessToken }).catch(() => "failed");
    return { result: "orphaned", channelId };
  }
  return { result: "active", channelId, expiration };
}

/** The outcome of {@linkcode stopChannel}. */
export type StopResult = "stopped" | "not_found" | "unauthorized";

/**
 * channels.stop. `not_found` (404): Google knows no such channel (already stopped or expired).
 * `unauthorized` (401/403): the token can no longer act for the account: nothing more can be
 * done; the channel lapses at its expiration and its pushes are ignored. Throws AppError
 * google_rate_limited or google_unavailable (retry later).
 */
export async function stopChannel(
  deps: Pick<ChannelDeps, "apiBaseUrl" | "timeoutMs" | "fetch">,
  channel: { channelId: string; resourceId: string; accessToken: string },
): Promise<StopResult> {
  try {
    await callGoogle(deps, channel.accessToken, STOP_PATH, {
      id: channel.channelId,
      resourceId: channel.resourceId,
    });
    return "stopped";
  } catch (error) {
    if (error instanceof GoogleRefusal) {
      if (error.status === 404) return "not_found";
      if (error.status === 401 || error.status === 403) return "unauthorized";
      throw new AppError("google_error", "Google Calendar refused to stop a channel.", {
        cause: { name: "GoogleApiError", code: String(error.status) },
      });
    }
    throw error;
  }
}

/** A 4xx Google answered that is not a rate limit: the caller decides what it means. */
class GoogleRefusal extends Error {
  constructor(readonly status: number) {
    super(`Google answered ${status}`);
    this.name = "GoogleRefusal";
  }
}

/**
 * One POST to Google with `accessToken`: one attempt (watch and stop are not idempotent calls we
 * may repeat blindly; the maintenance pass retries later). 2xx → the response; 429 or a rate
 * reason → AppError google_rate_limited; other 4xx → GoogleRefusal; 5xx, timeout, network →
 * AppError google_unavailable.
 */
async function callGoogle(
  deps: Pick<ChannelDeps, "apiBaseUrl" | "timeoutMs" | "fetch">,
  accessToken: string,
  path: string,
  body: unknown,
): Promise<Response> {
  let response: Response;
  try {
    response = await (deps.fetch ?? fetch)(deps.apiBaseUrl.replace(/\/+$/, "") + path, {
      method: "POST",
      headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      redirect: "error",
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
  } catch (error) {
    throw new AppError("google_unavailable", "Google is not answering; try again shortly.", {
      cause: error,
    });
  }
  if (response.ok) return response;
  const errorBody = await response.json().catch(() => null);
  if (response.status >= 500) {
    throw new AppError("google_unavailable", "Google is not answering; try again shortly.", {
      cause: { name: "GoogleApiError", code: String(response.status) },
    });
  }
  const refusal = classifyRefusal(
    response.status,
    googleErrorReasons(errorBody),
    parseRetryAfter(response.headers.get("retry-after")) ?? 5,
  );
  if (refusal?.code === "google_rate_limited") throw refusal;
  throw new GoogleRefusal(response.status);
}

/**
 * Stops `userId`'s channels now with `accessToken`, before something ends the grant at Google
 * (google-disconnect revokes it: afterwards no token could stop them). A channel stopped (or
 * unknown to Google) loses its row, so the grant's trigger does not queue it; any other outcome
 * leaves it to the trigger's queue. Returns how many were stopped. Never throws.
 */
export async function stopUserChannels(
  deps: Pick<ChannelDeps, "db" | "apiBaseUrl" | "timeoutMs" | "fetch">,
  userId: string,
  accessToken: string,
): Promise<number> {
  const { data, error } = await deps.db.from("google_calendar_channels")
    .select("id, resource_id").eq("user_id", userId).not("resource_id", "is", null);
  if (error || !data) return 0;
  let stopped = 0;
  for (const row of data) {
    const result = await stopChannel(deps, {
      channelId: row.id,
      resourceId: row.resource_id!,
      accessToken,
    }).catch(() => "failed" as const);
    if (result !== "stopped" && result !== "not_found") continue;
    await deps.db.from("google_calendar_channels").delete().eq("id", row.id);
    stopped++;
  }
  return stopped;
}
