/**
 * Incremental sync of a user's primary calendar (issue 23): events.list with the stored
 * syncToken, every page, then one database call that queues google_calendar.events_changed and
 * stores the new token together (google_calendar_sync_save). A sync that dies before that call
 * saved nothing: the next one reads the same changes again (at least once, never lost). A 410
 * (the token is no longer valid) restarts as a full listing, sent with `resync: true`.
 *
 * Who syncs is decided by a lease in the database: two syncs for one user at once, one runs and
 * the other claims nothing; a syncer whose lease lapsed cannot save.
 *
 * Google's reference: https://developers.google.com/workspace/calendar/api/guides/sync and
 * https://developers.google.com/workspace/calendar/api/v3/reference/events/list.
 */

import { pool } from "./async.ts";
import { runInBackground } from "./background.ts";
import { AppError, describeForLog, isAppError } from "./errors.ts";
import type { GoogleFetch } from "./google_fetch.ts";
import { type AdminClient, databaseError } from "./supabase_admin.ts";
import type { Json } from "./database.types.ts";

/** events.list on the user's primary calendar. */
export const EVENTS_PATH = "/calendar/v3/calendars/primary/events";

/** What a sync needs. */
export interface SyncDeps {
  db: AdminClient;
  googleFetch: GoogleFetch;
  /** Events are queued only with webhooks on (BOT_WEBHOOK_URL set). */
  webhooks: boolean;
  /** Timeout of one Google call: sizes the lease. */
  timeoutMs: number;
  /** After a save queued events: e.g. their first delivery attempt (deliverSoon). */
  onEventsQueued?: (userId: string) => void;
}

/** One changed event, as google_calendar.events_changed carries it. Never a token. */
export interface ChangedEvent {
  id: string;
  /** confirmed, tentative or cancelled (deleted, or an instance removed from a series). */
  status: string;
  summary: string | null;
  start: Json | null;
  end: Json | null;
  updated: string | null;
  /** The user's own answer to the invitation (needsAction, accepted, …); null when not invited. */
  response_status: string | null;
  recurring_event_id: string | null;
}

/** What one round of {@linkcode syncDue} did: counts only. */
export interface SyncReport {
  claimed: number;
  /** Saves that queued events (or a resync). */
  changed: number;
  /** Saves with nothing changed, or a first token taken. */
  unchanged: number;
  /** 410: restarted as a full listing. */
  resynced: number;
  /** Failed (Google 5xx/429, timeout): retried later with backoff. */
  failed: number;
  /** The lease lapsed or the grant went before the save: nothing written. */
  lost: number;
  events: number;
  errors: Record<string, number>;
}

/** Options of {@linkcode syncDue}. */
export interface SyncOptions {
  /** Only these users' syncs (a push just asked for them); default: the oldest due. */
  userIds?: string[];
  limit: number;
  /** Syncs in flight at once. Default 4. */
  concurrency?: number;
  /** Pages per Google call (default 250; Google's ceiling is 2500). */
  pageSize?: number;
}

/** Thrown inside a sync when Google says the sync token is gone (410). */
class SyncTokenGone extends Error {
  constructor() {
    super("sync token no longer valid");
    this.name = "SyncTokenGone";
  }
}

/** The claim's lease: enough for a few pages at the full timeout each. */
export function syncLeaseSeconds(timeoutMs: number): number {
  return Math.ceil((12 * timeoutMs) / 1000);
}

/** Claims due syncs (see options) and runs them; never throws for one user's failure. */
export async function syncDue(deps: SyncDeps, options: SyncOptions): Promise<SyncReport> {
  const report: SyncReport = {
    claimed: 0,
    changed: 0,
    unchanged: 0,
    resynced: 0,
    failed: 0,
    lost: 0,
    events: 0,
    errors: {},
  };
  const { data, error } = await deps.db.rpc("google_calendar_sync_claim", {
    // null: the oldest due syncs (the generated types cannot say an array argument may be null).
    p_user_ids: (options.userIds ?? null) as string[],
    p_limit: options.limit,
    p_lease_seconds: syncLeaseSeconds(deps.timeoutMs),
  });
  if (error) throw databaseError(error);
  // sync_token is null before the first sync; the generated row type cannot say so.
  const claims = (data ?? []) as SyncClaim[];
  report.claimed = claims.length;
  await pool(claims, options.concurrency ?? 4, (claim) => syncOne(deps, claim, report, options));
  return report;
}

/** A claimed sync, as google_calendar_sync_claim returns it. */
export interface SyncClaim {
  user_id: string;
  sync_token: string | null;
  request_seq: number;
  lease_id: string;
}

async function syncOne(
  deps: SyncDeps,
  claim: SyncClaim,
  report: SyncReport,
  options: SyncOptions,
): Promise<void> {
  const pageSize = options.pageSize ?? 250;
  let resync = false;
  let listing: { events: ChangedEvent[]; nextSyncToken: string };
  try {
    if (claim.sync_token === null) {
      // The first token: a full listing whose events the bot need not hear of.
      listing = await listAll(deps, claim.user_id, { pageSize: 2500, keepEvents: false });
    } else {
      try {
        listing = await listAll(deps, claim.user_id, {
          syncToken: claim.sync_token,
          pageSize,
          keepEvents: true,
        });
      } catch (error) {
        if (!(error instanceof SyncTokenGone)) throw error;
        report.resynced++;
        resync = true;
        listing = await listAll(deps, claim.user_id, { pageSize: 2500, keepEvents: true });
      }
    }
  } catch (error) {
    report.failed++;
    const code = error instanceof SyncTokenGone
      ? "google_sync_token_gone"
      : isAppError(error)
      ? error.code
      : "internal_error";
    report.errors[code] = (report.errors[code] ?? 0) + 1;
    if (!isAppError(error) || error.status >= 500) {
      console.warn(`calendar-sync: user=${claim.user_id} failed: ${describeForLog(error)}`);
    }
    const retryAfter = isAppError(error, "google_rate_limited") ? error.retryAfterSeconds : null;
    await deps.db.rpc("google_calendar_sync_fail", {
      p_user_id: claim.user_id,
      p_lease_id: claim.lease_id,
      p_error: code,
      ...(retryAfter ? { p_retry_after_seconds: retryAfter } : {}),
    });
    return;
  }
  const saved = await saveSync(deps, claim, listing, resync);
  if (saved === null) {
    report.lost++;
    return;
  }
  report.events += saved;
  if (saved > 0 || resync) {
    report.changed++;
    deps.onEventsQueued?.(claim.user_id);
  } else {
    report.unchanged++;
  }
}

/**
 * The one write of a sync: the events and the token together. Null when the save did not apply
 * (the lease lapsed to another syncer, or the grant is gone). Throws AppError
 * database_unavailable (nothing saved: the lease lapses and the sync is repeated).
 */
export async function saveSync(
  deps: Pick<SyncDeps, "db" | "webhooks">,
  claim: SyncClaim,
  listing: { events: ChangedEvent[]; nextSyncToken: string },
  resync: boolean,
): Promise<number | null> {
  const { data, error } = await deps.db.rpc("google_calendar_sync_save", {
    p_user_id: claim.user_id,
    p_lease_id: claim.lease_id,
    p_request_seq: claim.request_seq,
    p_sync_token: listing.nextSyncToken,
    p_events: listing.events as unknown as Json,
    p_resync: resync,
    p_webhooks: deps.webhooks,
  });
  if (error) throw databaseError(error);
  return data;
}

/** Every page of one listing, to its nextSyncToken. */
async function listAll(
  deps: Pick<SyncDeps, "googleFetch">,
  userId: string,
  options: { syncToken?: string; pageSize: number; keepEvents: boolean },
): Promise<{ events: ChangedEvent[]; nextSyncToken: string }> {
  const events: ChangedEvent[] = [];
  let pageToken: string | undefined;
  for (let page = 0; page < 1000; page++) {
    // A page token carries the query it continues; only it (and the page size) go along.
    const query = new URLSearchParams({ maxResults: String(options.pageSize) });
    if (options.syncToken) query.set("syncToken", options.syncToken);
    if (pageToken) query.set("pageToken", pageToken);
    const response = await deps.googleFetch(userId, `${EVENTS_PATH}?${query}`);
    if (response.status === 410) {
      await response.body?.cancel();
      throw new SyncTokenGone();
    }
    const body = await response.json().catch(() => null) as {
      items?: unknown[];
      nextPageToken?: string;
      nextSyncToken?: string;
    } | null;
    if (!response.ok) {
      throw new AppError("google_error", "Google Calendar refused the change listing.", {
        cause: { name: "GoogleApiError", code: String(response.status) },
      });
    }
    if (!body || !Array.isArray(body.items)) {
      throw new AppError("google_unavailable", "Google Calendar sent an unexpected answer.");
    }
    if (options.keepEvents) {
      for (const item of body.items) {
        const event = describeChange(item);
        if (event) events.push(event);
      }
    }
    if (body.nextPageToken) {
      pageToken = body.nextPageToken;
      continue;
    }
    if (!body.nextSyncToken) {
      throw new AppError("google_unavailable", "Google Calendar sent no sync token.");
    }
    return { events, nextSyncToken: body.nextSyncToken };
  }
  throw new AppError("google_unavailable", "Google Calendar sent too many pages.");
}

/** One events.list item as the webhook carries it; null for an item without an id. */
export function describeChange(item: unknown): ChangedEvent | null {
  const e = (item ?? {}) as {
    id?: unknown;
    status?: unknown;
    summary?: unknown;
    start?: Json;
    end?: Json;
    updated?: unknown;
    recurringEventId?: unknown;
    attendees?: { self?: unknown; responseStatus?: unknown }[];
  };
  if (typeof e.id !== "string") return null;
  const self = Array.isArray(e.attendees) ? e.attendees.find((a) => a?.self === true) : undefined;
  return {
    id: e.id,
    status: typeof e.status === "string" ? e.status : "confirmed",
    summary: typeof e.summary === "string" ? e.summary : null,
    start: e.start ?? null,
    end: e.end ?? null,
    updated: typeof e.updated === "string" ? e.updated : null,
    response_status: typeof self?.responseStatus === "string" ? self.responseStatus : null,
    recurring_event_id: typeof e.recurringEventId === "string" ? e.recurringEventId : null,
  };
}

/** Syncs waiting to start, per database client (one per process). */
const pendingSyncs = new WeakMap<AdminClient, Set<string>>();

/** True when a sync of `userId` is gathering in this process and has not claimed yet. */
export function syncPending(db: AdminClient, userId: string): boolean {
  return pendingSyncs.get(db)?.has(userId) ?? false;
}

/**
 * How long pushes gather before their syncs start. Google sends several messages for one edit
 * (and a person edits in bursts): one sync then reads them all.
 */
const GATHER_MS = 250;

/**
 * Starts `userId`'s due sync in the background, off the push's answer. Pushes within GATHER_MS
 * in one process share one claim. If it fails or the process dies, the maintenance pass syncs:
 * the request is in the database.
 */
export function syncSoon(deps: SyncDeps, userId: string): void {
  const pending = pendingSyncs.get(deps.db);
  if (pending) {
    pending.add(userId);
    return;
  }
  const users = new Set([userId]);
  pendingSyncs.set(deps.db, users);
  const gathered = new Promise((resolve) => setTimeout(resolve, GATHER_MS));
  runInBackground(
    gathered.then(async () => {
      pendingSyncs.delete(deps.db);
      // A push that came during a sync leaves it due again: one more round picks it up.
      for (let round = 0; round < 3; round++) {
        const report = await syncDue(deps, { userIds: [...users], limit: users.size });
        if (report.claimed === 0 || report.changed + report.unchanged === 0) break;
      }
    }).catch((error) => {
      console.warn(`calendar-sync: background sync skipped: ${describeForLog(error)}`);
    }),
  );
}
