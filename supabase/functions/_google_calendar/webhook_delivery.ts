/**
 * Delivery of lifecycle webhooks from the outbox (`google_calendar_webhook_events`), signed per
 * the Standard Webhooks spec with the `standardwebhooks` package.
 *
 * The database decides everything that must survive a crash: which event is due (per user only
 * the oldest pending one, so order holds), who holds it (a lease), and when to try again
 * (backoff with jitter, dead after 24 h). This module only claims, POSTs and settles, so any
 * number of runners may run at once and any of them may die mid-batch: an unsettled lease lapses
 * and the event is claimed again, with the same `webhook-id`.
 *
 * Nothing here logs an event's content or the secret: a failure is a short code of our own
 * (`timeout`, `connection_failed`, `http_500`), never the receiver's answer.
 */

import { runInBackground } from "./background.ts";
import { describeForLog } from "./errors.ts";
import type { WebhookSettings } from "./config.ts";
import type { Json } from "./database.types.ts";
import { type AdminClient, databaseError } from "./supabase_admin.ts";

/** What a runner needs. */
export interface WebhookDeliveryDeps {
  db: AdminClient;
  /** The bot's URL and `whsec_` secret; null: webhooks are off and nothing is sent. */
  webhooks: WebhookSettings | null;
  /** Timeout of one attempt (connect, headers), in ms. Default 10 000. */
  timeoutMs?: number;
  /** The fetch to POST with (tests). */
  fetch?: typeof fetch;
}

/** How much one call may do. */
export interface DeliverOptions {
  /** At most this many events are claimed by the call. */
  limit: number;
  /** Epoch ms: no claim starts after it (an attempt in flight still finishes). */
  deadline: number;
  /** Only this user's events, in order (each round claims the user's head). */
  userId?: string;
  /** Only these users' events: the first attempts right after changes. */
  userIds?: string[];
  /** POSTs in flight at once (each to a different user's head). Default 8. */
  concurrency?: number;
  /** How long a claim is ours. Default: the attempt's timeout plus 30 s. */
  leaseSeconds?: number;
  /** Given up (dead-lettered) once an event is this old, as a Postgres interval. */
  maxAge?: string;
}

/** Why a call returned. */
export type StopReason = "empty" | "limit" | "deadline" | "disabled";

/** What one call did: counts only, never content. */
export interface DeliveryReport {
  claimed: number;
  /** 2xx. */
  delivered: number;
  /** Any other answer, or none: tried again later (backoff in the database). */
  retried: number;
  /** 410: the receiver wants no more of this event; dead-lettered at once. */
  gone: number;
  /** Retried once too often (older than maxAge): dead-lettered. */
  dead: number;
  /** The lease lapsed before the settle and another runner took the event over. */
  lostLease: number;
  /** Why attempts failed: `timeout`, `connection_failed`, `http_<status>`, `signing_failed`. */
  errors: Record<string, number>;
  stoppedBy: StopReason;
  elapsedMs: number;
}

/** The operator's view: the `google_calendar_webhook_backlog` row. */
export interface WebhookBacklog {
  undelivered: number;
  nextAttemptAt: string | null;
  oldestUndeliveredAt: string | null;
  oldestUndeliveredAgeSeconds: number | null;
  lastError: string | null;
  deadLetters: number;
}

/** One claimed event, as the claim RPC returns it. */
interface ClaimedEvent {
  id: string;
  user_id: string;
  payload: Json;
  attempts: number;
  lease_id: string;
  webhook_id: string;
}

/** The outcome of one POST. */
export interface AttemptOutcome {
  outcome: "delivered" | "retry" | "gone";
  status: number | null;
  error: string | null;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_AGE = "24 hours";

/** `standardwebhooks`, loaded on the first signature (see `signWebhook`). */
let standardWebhooks: Promise<typeof import("standardwebhooks")> | undefined;

/**
 * The Standard Webhooks headers for `body`: `webhook-id` (the same on every attempt), the
 * attempt's `webhook-timestamp` (seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256>`).
 * `standardwebhooks` is imported here, on the first delivery, not when the function boots: every
 * delivery runs after the person's answer, and with webhooks off it is never loaded at all. (A
 * string-literal import is bundled on deploy like a static one.)
 */
export async function signWebhook(
  secret: string,
  message: { id: string; body: string; at?: Date },
): Promise<Record<string, string>> {
  standardWebhooks ??= import("standardwebhooks").catch((error) => {
    // Not cached: the next delivery tries to load it again.
    standardWebhooks = undefined;
    throw error;
  });
  const { Webhook } = await standardWebhooks;
  const at = message.at ?? new Date();
  return {
    "webhook-id": message.id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(message.id, at, message.body),
  };
}

/** POSTs one signed event and classifies the answer; never throws. */
export async function attemptDelivery(
  settings: WebhookSettings,
  message: { id: string; body: string },
  options: { timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<AttemptOutcome> {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let signature: Record<string, string>;
  try {
    signature = await signWebhook(settings.secret, message);
  } catch (error) {
    // The signing module failed to load: a deploy problem the backlog's last_error shows.
    console.error(`webhooks: signing failed: ${describeForLog(error)}`);
    return { outcome: "retry", status: null, error: "signing_failed" };
  }
  let res: Response;
  try {
    res = await doFetch(settings.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "google-calendar-connect-webhooks",
        ...signature,
      },
      body: message.body,
      // A redirect is not a delivery: following it would send the event somewhere unconfigured.
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const timedOut = error instanceof DOMException &&
      (error.name === "TimeoutError" || error.name === "AbortError");
    return { outcome: "retry", status: null, error: timedOut ? "timeout" : "connection_failed" };
  }
  // The answer's body is never read (nor stored): only the status counts.
  await res.body?.cancel().catch(() => {});
  if (res.status >= 200 && res.status < 300) {
    return { outcome: "delivered", status: res.status, error: null };
  }
  if (res.status === 410) return { outcome: "gone", status: 410, error: "gone" };
  return { outcome: "retry", status: res.status, error: `http_${res.status}` };
}

/**
 * Claims due events (per user only the head), POSTs each signed, settles each. Loops until
 * nothing is due, `limit` events were claimed, or `deadline` passed. Throws AppError
 * database_unavailable when the claim fails; a receiver's failure is only a retry.
 */
export async function deliverDue(
  deps: WebhookDeliveryDeps,
  options: DeliverOptions,
): Promise<DeliveryReport> {
  const started = performance.now();
  const report: DeliveryReport = {
    claimed: 0,
    delivered: 0,
    retried: 0,
    gone: 0,
    dead: 0,
    lostLease: 0,
    errors: {},
    stoppedBy: "empty",
    elapsedMs: 0,
  };
  const finish = (why: StopReason) => {
    report.stoppedBy = why;
    report.elapsedMs = Math.round(performance.now() - started);
    return report;
  };
  const settings = deps.webhooks;
  if (!settings) return finish("disabled");

  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const leaseSeconds = options.leaseSeconds ?? Math.ceil(timeoutMs / 1000) + 30;
  const maxAge = options.maxAge ?? DEFAULT_MAX_AGE;

  // One POST per event, all of a batch at once; then one settle for the whole batch.
  const attemptOne = async (event: ClaimedEvent) => {
    const body = JSON.stringify(event.payload);
    const attempt = await attemptDelivery(settings, { id: event.webhook_id, body }, {
      timeoutMs,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    if (attempt.error && attempt.outcome === "retry") {
      report.errors[attempt.error] = (report.errors[attempt.error] ?? 0) + 1;
    }
    return { event, attempt };
  };
  const settleBatch = async (done: { event: ClaimedEvent; attempt: AttemptOutcome }[]) => {
    const { data, error } = await deps.db.rpc("google_calendar_webhook_settle_many", {
      p_results: done.map(({ event, attempt }) => ({
        id: event.id,
        lease_id: event.lease_id,
        outcome: attempt.outcome,
        status: attempt.status,
        error: attempt.error,
      })),
      p_max_age: maxAge,
    });
    if (error) {
      // Unsettled: the leases lapse and the events are tried again (at least once, never lost).
      report.errors.settle_failed = (report.errors.settle_failed ?? 0) + done.length;
      return;
    }
    const outcomes = new Map(done.map(({ event, attempt }) => [event.id, attempt.outcome]));
    for (const row of data ?? []) {
      const outcome = outcomes.get(row.id);
      if (!row.settled) report.lostLease++;
      else if (outcome === "delivered") report.delivered++;
      else if (outcome === "gone") report.gone++;
      else if (row.dead) report.dead++;
      else report.retried++;
    }
  };

  const userIds = options.userIds ?? (options.userId ? [options.userId] : null);
  for (;;) {
    if (report.claimed >= options.limit) return finish("limit");
    if (Date.now() >= options.deadline) return finish("deadline");
    // Per user only the head is claimable, so named users give at most one event each per
    // round (their next events come in the next rounds, in order).
    const { data, error } = userIds
      ? await deps.db.rpc("google_calendar_webhook_claim_users", {
        p_user_ids: userIds,
        p_lease_seconds: leaseSeconds,
      })
      : await deps.db.rpc("google_calendar_webhook_claim", {
        p_limit: Math.min(options.limit - report.claimed, concurrency),
        p_lease_seconds: leaseSeconds,
      });
    if (error) throw databaseError(error);
    const events = (data ?? []) as ClaimedEvent[];
    if (events.length === 0) return finish("empty");
    report.claimed += events.length;
    await settleBatch(await Promise.all(events.map(attemptOne)));
  }
}

/** First attempts waiting to start, per database client (one per process). */
const pendingFirstAttempts = new WeakMap<AdminClient, Set<string>>();

/**
 * How long first attempts gather before one claim and one settle take them all. The delivery
 * shares the process and the database with the next person's callback: at 10 ms (a claim and a
 * settle per event) the callback ran 1.48 × slower with webhooks on; at 100 ms, 1.10 ×, for
 * about 60 ms more from commit to the bot's 2xx (`npm run bench -- --only=webhooks`).
 */
const GATHER_MS = 100;

/**
 * The first attempt at `userId`'s new events, started in the background right after the change
 * commits, never on the person's path. Changes within GATHER_MS of each other in one process go
 * out together: one claim and one settle for all of them. If an attempt fails or the
 * process dies, the scheduled runner retries: the event is already in the outbox.
 */
export function deliverSoon(deps: WebhookDeliveryDeps, userId: string): void {
  if (!deps.webhooks) return;
  const pending = pendingFirstAttempts.get(deps.db);
  if (pending) {
    pending.add(userId);
    return;
  }
  const users = new Set([userId]);
  pendingFirstAttempts.set(deps.db, users);
  // Started after the person's response has gone out, with whoever changed meanwhile.
  const gathered = new Promise((resolve) => setTimeout(resolve, GATHER_MS));
  runInBackground(
    gathered.then(() => {
      pendingFirstAttempts.delete(deps.db);
      return deliverDue(deps, {
        userIds: [...users],
        limit: 10 * users.size,
        deadline: Date.now() + 60_000,
      });
    }).catch((error) => {
      console.warn(`webhooks: first attempts skipped: ${error?.code ?? "error"}`);
    }),
  );
}

/** The operator's backlog: undelivered count, oldest age, last error, dead letters. */
export async function webhookBacklog(db: AdminClient): Promise<WebhookBacklog> {
  const { data, error } = await db.from("google_calendar_webhook_backlog").select("*").single();
  if (error) throw databaseError(error);
  return {
    undelivered: Number(data.undelivered ?? 0),
    nextAttemptAt: data.next_attempt_at,
    oldestUndeliveredAt: data.oldest_undelivered_at,
    oldestUndeliveredAgeSeconds: data.oldest_undelivered_age_seconds,
    lastError: data.last_error,
    deadLetters: Number(data.dead_letters ?? 0),
  };
}
