/**
 * One bounded maintenance pass (issue 13): time-limited grants that lapsed or are about to, the
 * revocation queue, keep-alive refreshes, re-wrapping ciphertexts under the current key, and
 * housekeeping. Every task finds its work through an index-served RPC that claims rows with a
 * lease or `for update skip locked`, so passes that overlap never process a row twice, and a
 * pass that dies leaves nothing behind but leases that lapse.
 *
 * Bounds: Google calls never exceed the budget (each keep-alive or revocation is exactly one
 * call: the pass's own access-token provider makes one attempt, a transient failure leaves the
 * row for the next pass), and no new work starts once less than one Google timeout is left
 * before the deadline, so the pass ends by its deadline even when Google hangs.
 */

import { createAccessTokenProvider } from "../_google_calendar/access_token.ts";
import { pool } from "../_google_calendar/async.ts";
import type { Config } from "../_google_calendar/config.ts";
import type { Database } from "../_google_calendar/database.types.ts";
import process from "node:process";
import { describeForLog, isAppError } from "../_google_calendar/errors.ts";
import type { GoogleOAuth } from "../_google_calendar/google_oauth.ts";
import type { RefreshLease } from "../_google_calendar/refresh_lease.ts";
import { type AdminClient, databaseError, nullable } from "../_google_calendar/supabase_admin.ts";
import {
  decryptToken,
  encryptToken,
  type Keyring,
  TokenDecryptError,
} from "../_google_calendar/token_crypto.ts";
import type { TokenStore } from "../_google_calendar/token_store.ts";
import type { DeliveryReport } from "../_google_calendar/webhook_delivery.ts";

type Rpcs = Database["public"]["Functions"];
type RpcName = keyof Rpcs & string;
type RpcArgs<N extends RpcName> = Rpcs[N]["Args"];
type RpcReturns<N extends RpcName> = Rpcs[N]["Returns"];

/** What a pass needs, explicitly (index.ts wires them from the environment). */
export interface MaintenanceDeps {
  db: AdminClient;
  keyring: Keyring;
  tokens: TokenStore;
  lease: RefreshLease;
  google: GoogleOAuth;
  maintenance: Config["maintenance"];
  /** Events are queued (BOT_WEBHOOK_URL is set). */
  webhooks: boolean;
  /** The timeout of one outbound call (HTTP_TIMEOUT_MS). */
  timeoutMs: number;
  /**
   * Delivers due webhook events, claiming none after `deadline` (epoch ms); absent when
   * webhooks are off. index.ts passes _google_calendar/webhook_delivery.ts's deliverDue.
   */
  deliverWebhooks?: (deadline: number) => Promise<DeliveryReport>;
}

/** Tuning of one pass; the defaults suit Supabase's hosted limits (see docs/maintenance.md). */
export interface PassOptions {
  /** Wall-clock budget of the pass. Supabase allows 150 s (free) / 400 s (paid) per worker. */
  deadlineMs?: number;
  /** Google calls in flight at once. */
  concurrency?: number;
  /**
   * Most rows re-wrapped per pass (tokens and queue entries together). CPU-bound: about 0.7 ms
   * of CPU per row (two decryptions, two encryptions), so 1,000 stay well under the 2 s limit.
   */
  rewrapLimit?: number;
  /** Most rows each database-only task handles per pass. */
  batchLimit?: number;
}

/** The pass's defaults. */
export const PASS_DEFAULTS = {
  deadlineMs: 25_000,
  concurrency: 10,
  rewrapLimit: 1_000,
  batchLimit: 1_000,
} as const;

/** Keep-alive stops for the pass after this many transient failures, if half its calls failed. */
const UNAVAILABLE_STOP_AFTER = 5;

/** The JSON report of one pass. */
export interface PassReport {
  ok: boolean;
  started_at: string;
  duration_ms: number;
  deadline_ms: number;
  /** Why the pass stopped before running out of work, if it did. */
  stopped_early: string[];
  google_calls: { used: number; budget: number };
  database: { calls: number; ms: number };
  /** Wall-clock time of each task, in ms. */
  task_ms: Record<string, number>;
  /** CPU time of this process during the pass (approximate when passes overlap). */
  cpu_ms: number | null;
  tasks: {
    expired: { deleted: number };
    expiring: { notified: number };
    revocations: {
      claimed: number;
      revoked: number;
      already_invalid: number;
      /** Its Google account is linked to a user again (or still): dropped, not revoked. */
      still_linked: number;
      retried: number;
      undecryptable: number;
    };
    keepalive: {
      claimed: number;
      refreshed: number;
      reconnect_required: number;
      transient: number;
      skipped: number;
      /** google_client_misconfigured, google_rate_limited or google_unavailable. */
      stopped: string | null;
    };
    rewrap: {
      tokens: number;
      revocations: number;
      conflicts: number;
      undecryptable: number;
    };
    housekeeping: {
      flows_purged: number;
      webhooks_purged: number;
      /** deliverDue's report; null when webhooks are off (or no time was left). */
      webhooks: DeliveryReport | null;
    };
  };
  /** google_client_misconfigured answers seen (the operator's to fix; logged at error level). */
  client_misconfigured: number;
  keys: {
    current: string;
    /** Per key id; the current key's counts are an estimate (`estimated`), the others exact. */
    rows: {
      key_id: string;
      tokens: number;
      revocations: number;
      estimated: boolean;
    }[];
    /** Token and queue rows under any other key than the current one: 0 means old keys can go. */
    old_key_rows: number;
  };
  /** google_maintenance_due(): what the next pass will find. */
  due: Record<string, unknown>;
  errors: { task: string; code: string }[];
}

type Task = keyof PassReport["tasks"];

/** Runs one pass and returns its report; never throws (failures are in `errors`). */
export async function runMaintenancePass(
  deps: MaintenanceDeps,
  options: PassOptions = {},
): Promise<PassReport> {
  const startedAt = Date.now();
  const cpuStart = cpuMs();
  const deadlineMs = options.deadlineMs ?? PASS_DEFAULTS.deadlineMs;
  const deadline = startedAt + deadlineMs;
  const concurrency = options.concurrency ?? PASS_DEFAULTS.concurrency;
  const rewrapLimit = options.rewrapLimit ?? PASS_DEFAULTS.rewrapLimit;
  const batchLimit = options.batchLimit ?? PASS_DEFAULTS.batchLimit;
  const budget = deps.maintenance.googleCallBudget;
  const { keyring } = deps;
  const currentKid = keyring.current.kid;

  const report: PassReport = {
    ok: true,
    started_at: new Date(startedAt).toISOString(),
    duration_ms: 0,
    deadline_ms: deadlineMs,
    stopped_early: [],
    google_calls: { used: 0, budget },
    database: { calls: 0, ms: 0 },
    task_ms: {},
    cpu_ms: null,
    tasks: {
      expired: { deleted: 0 },
      expiring: { notified: 0 },
      revocations: {
        claimed: 0,
        revoked: 0,
        already_invalid: 0,
        still_linked: 0,
        retried: 0,
        undecryptable: 0,
      },
      keepalive: {
        claimed: 0,
        refreshed: 0,
        reconnect_required: 0,
        transient: 0,
        skipped: 0,
        stopped: null,
      },
      rewrap: { tokens: 0, revocations: 0, conflicts: 0, undecryptable: 0 },
      housekeeping: { flows_purged: 0, webhooks_purged: 0, webhooks: null },
    },
    client_misconfigured: 0,
    keys: { current: currentKid, rows: [], old_key_rows: 0 },
    due: {},
    errors: [],
  };
  const { tasks } = report;

  // Google calls: counted at the client, so retries anywhere below would show. Work is sized by
  // `reserved` before it starts, so the budget holds even with calls in flight.
  let reserved = 0;
  const google: GoogleOAuth = {
    ...deps.google,
    refresh(refreshToken) {
      report.google_calls.used++;
      return deps.google.refresh(refreshToken);
    },
    revoke(token) {
      report.google_calls.used++;
      return deps.google.revoke(token);
    },
  };
  // One attempt per keep-alive: a transient failure leaves the row for the next pass, and the
  // lease it holds is sized for one call (3 × the timeout), not for a retry ladder.
  /** Users keep-alive claimed in this pass, whatever came of it: not claimed again. */
  const triedThisPass = new Set<string>();
  const accessTokens = createAccessTokenProvider(
    { tokens: deps.tokens, lease: deps.lease, google },
    { timeoutMs: deps.timeoutMs, attempts: 1 },
  );

  /**
   * An RPC, timed and counted; database errors become AppError database_unavailable. Its name,
   * arguments and result are the generated schema's, so a renamed RPC or argument fails
   * `deno check`.
   */
  function rpc<N extends RpcName>(
    name: N,
    args: RpcArgs<N>,
  ): Promise<RpcReturns<N>> {
    return timedDb(async () => {
      // supabase-js cannot resolve its overloads for a generic name; the signature above is
      // what checks the call.
      const call = deps.db.rpc as unknown as (
        name: N,
        args: RpcArgs<N>,
      ) => Promise<
        {
          data: RpcReturns<N>;
          error: { code?: string; message?: string } | null;
        }
      >;
      const { data, error } = await call.call(deps.db, name, args);
      if (error) throw databaseError(error);
      return data;
    });
  }

  /** Time is left to start one more Google call (or batch) and see it end by the deadline. */
  const timeLeft = () => Date.now() + deps.timeoutMs < deadline;
  const stopEarly = (why: string) => {
    if (!report.stopped_early.includes(why)) report.stopped_early.push(why);
  };

  async function task(
    name: Task | "keys" | "due",
    body: () => Promise<void>,
  ): Promise<void> {
    const start = performance.now();
    try {
      await body();
    } catch (error) {
      const code = isAppError(error) ? error.code : "internal_error";
      report.ok = false;
      report.errors.push({ task: name, code });
      console.error(
        `google-maintenance: ${name} failed: ${describeForLog(error)}`,
      );
    } finally {
      report.task_ms[name] = Math.round(performance.now() - start);
    }
  }

  // 1. Lapsed time-limited grants: gone without asking Google (it would say invalid_grant).
  await task("expired", async () => {
    const rows = await rpc(
      "google_maintenance_expired_grants",
      { p_limit: batchLimit },
    );
    for (const row of rows) {
      const deleted = await timedDb(() =>
        deps.tokens.delete(row.user_id, {
          grantId: row.grant_id,
          cause: "reconnect_required",
          reason: "google_grant_expired",
          revokedAtGoogle: false,
          needsRevocation: false,
        })
      );
      if (deleted) tasks.expired.deleted++;
    }
    if (rows.length >= batchLimit) stopEarly("expired: batch limit");
  });

  // 2. google_calendar.expiring, once per grant, a configured time before it lapses.
  await task("expiring", async () => {
    const before = new Date(
      startedAt + deps.maintenance.expiringNoticeHours * 3600_000,
    );
    const rows = await rpc("google_maintenance_mark_expiring", {
      p_before: before.toISOString(),
      p_limit: batchLimit,
      p_webhooks: deps.webhooks,
    });
    tasks.expiring.notified = rows.length;
    if (rows.length >= batchLimit) stopEarly("expiring: batch limit");
  });

  // 3. The revocation queue: at most half the budget, so a burst of deletions cannot starve
  // keep-alive (whose deadline is months away, but still).
  await task("revocations", async () => {
    const share = Math.ceil(budget / 2);
    // The queue entry's lease covers one revoke call and the settle after it.
    const leaseSeconds = Math.ceil((3 * deps.timeoutMs) / 1000);
    let spent = 0;
    for (;;) {
      const room = Math.min(share - spent, budget - reserved, concurrency);
      if (room <= 0) {
        stopEarly("revocations: google call budget");
        break;
      }
      if (!timeLeft()) {
        stopEarly("revocations: deadline");
        break;
      }
      const claimed = await rpc(
        "google_calendar_revocation_claim",
        {
          p_limit: room,
          p_lease_seconds: leaseSeconds,
        },
      );
      if (claimed.length === 0) break;
      tasks.revocations.claimed += claimed.length;
      reserved += claimed.length;
      const callsBefore = report.google_calls.used;
      // Revoking ends the account's whole grant: not while a user holds that account (another
      // user, or this one reconnected). That user's own deletion queues their token later.
      const linked = await timedDb(() =>
        deps.tokens.linkedGoogleAccounts(
          claimed.flatMap((entry) => entry.google_sub ? [entry.google_sub] : []),
        )
      );
      await Promise.all(
        claimed.map((entry) =>
          entry.google_sub && linked.has(entry.google_sub) ? dropLinked(entry) : revokeOne(entry)
        ),
      );
      // Entries that made no call (undecryptable) give their share back.
      spent += report.google_calls.used - callsBefore;
      reserved = report.google_calls.used;
      if (claimed.length < room) break;
    }
  });

  async function dropLinked(entry: RevocationRow): Promise<void> {
    tasks.revocations.still_linked++;
    await settle(entry, "done", null);
  }

  async function revokeOne(entry: RevocationRow): Promise<void> {
    let refreshToken: string;
    try {
      refreshToken = await decryptToken(keyring, entry.refresh_token, {
        userId: entry.user_id,
        field: "refresh_token",
      });
    } catch (error) {
      if (!(error instanceof TokenDecryptError)) throw error;
      // Under a key we no longer hold: it can never be revoked by us. Kept (with backoff) so
      // the operator sees it in the key counts and can restore the key.
      tasks.revocations.undecryptable++;
      await settle(entry, "retry", "undecryptable");
      return;
    }
    let outcome: "done" | "retry" = "done";
    let note: string | null = null;
    try {
      if (await google.revoke(refreshToken)) tasks.revocations.revoked++;
      else tasks.revocations.already_invalid++; // Google: 400 invalid_token, nothing to revoke.
    } catch (error) {
      outcome = "retry";
      note = isAppError(error) ? error.code : "google_unavailable";
      tasks.revocations.retried++;
    }
    await settle(entry, outcome, note);
  }

  async function settle(
    entry: RevocationRow,
    outcome: "done" | "retry",
    error: string | null,
  ) {
    await rpc("google_calendar_revocation_settle", {
      p_id: entry.id,
      p_lease_id: entry.lease_id,
      p_outcome: outcome,
      p_error: nullable(error),
    });
  }

  // 4. Keep-alive: refresh grants unused for KEEPALIVE_DAYS, under the normal refresh lease.
  await task("keepalive", async () => {
    const usedBefore = new Date(
      startedAt - deps.maintenance.keepaliveDays * 86_400_000,
    );
    for (;;) {
      const room = Math.min(budget - reserved, concurrency);
      if (room <= 0) {
        stopEarly("keepalive: google call budget");
        break;
      }
      if (!timeLeft()) {
        stopEarly("keepalive: deadline");
        break;
      }
      const leaseId = crypto.randomUUID();
      const claimed = await rpc(
        "google_maintenance_claim_keepalive",
        {
          p_used_before: usedBefore.toISOString(),
          p_limit: room,
          p_lease_id: leaseId,
          p_lease_seconds: accessTokens.leaseSeconds,
          // Tried already in this pass: a row no refresh can help stays oldest, and would
          // otherwise be claimed first again and again.
          p_exclude: [...triedThisPass],
        },
      );
      if (claimed.length === 0) break;
      for (const row of claimed) triedThisPass.add(row.user_id);
      tasks.keepalive.claimed += claimed.length;
      reserved += claimed.length;
      await Promise.all(claimed.map((row) => keepAlive(row.user_id, leaseId)));
      // Rows that made no Google call (skipped) give their share of the budget back.
      reserved = report.google_calls.used;
      if (tasks.keepalive.stopped) {
        stopEarly(`keepalive: ${tasks.keepalive.stopped}`);
        break;
      }
      if (claimed.length < room) break;
    }
  });

  async function keepAlive(userId: string, leaseId: string): Promise<void> {
    if (tasks.keepalive.stopped) {
      // Misconfigured client or Google asking us to back off: every call would fail the same
      // way. Let go untouched.
      tasks.keepalive.skipped++;
      await timedDb(() => deps.lease.release(userId, leaseId)).catch(() => {});
      return;
    }
    try {
      // renew(leaseId) refreshes under the lease we hold and always lets it go; on
      // invalid_grant it deletes this grant (reconnect_required + disconnected events).
      await accessTokens.renew(userId, { leaseId });
      tasks.keepalive.refreshed++;
    } catch (error) {
      if (isAppError(error, "google_reconnect_required")) {
        tasks.keepalive.reconnect_required++;
      } else if (isAppError(error, "google_client_misconfigured")) {
        report.client_misconfigured++;
        tasks.keepalive.stopped = "google_client_misconfigured";
        tasks.keepalive.transient++;
      } else if (isAppError(error, "google_rate_limited")) {
        tasks.keepalive.stopped = "google_rate_limited";
        tasks.keepalive.transient++;
      } else if (
        isAppError(error, "google_unavailable") ||
        isAppError(error, "database_unavailable")
      ) {
        // Left for the next pass (the claim, oldest first, finds it again).
        tasks.keepalive.transient++;
        // Google failing for most of what we ask: stop for this pass rather than spend the
        // budget on it.
        if (
          tasks.keepalive.transient >= UNAVAILABLE_STOP_AFTER &&
          tasks.keepalive.transient * 2 >= report.google_calls.used
        ) {
          tasks.keepalive.stopped ??= "google_unavailable";
        }
      } else {
        // Not connected any more, no calendar scope, a row that does not decrypt: nothing a
        // refresh can do. renew() has let its lease go; it is not claimed again this pass.
        tasks.keepalive.skipped++;
      }
    }
  }

  // 5. Re-wrap: tokens and queue entries under an old key, re-encrypted under the current one.
  await task("rewrap", async () => {
    let done = 0;
    /** Re-wraps `batch`'s rows with `rewrap` until none are left, or the limit or deadline. */
    const rewrapBatches = async <R>(
      batch: (limit: number) => Promise<R[]>,
      rewrap: (row: R) => Promise<void>,
    ) => {
      while (done < rewrapLimit && timeLeft()) {
        const rows = await batch(Math.min(200, rewrapLimit - done));
        if (rows.length === 0) return;
        const undecryptableBefore = tasks.rewrap.undecryptable;
        await pool(rows, concurrency, (row) => rewrap(row));
        done += rows.length;
        // A batch of nothing but rows we cannot read would come back every time: stop.
        if (tasks.rewrap.undecryptable - undecryptableBefore === rows.length) return;
      }
    };
    await rewrapBatches(
      (limit) =>
        rpc("google_maintenance_rewrap_batch", { p_current_key_id: currentKid, p_limit: limit }),
      rewrapToken,
    );
    await rewrapBatches(
      (limit) =>
        rpc("google_calendar_revocation_rewrap_batch", {
          p_current_key_id: currentKid,
          p_limit: limit,
        }),
      rewrapQueued,
    );
    if (done >= rewrapLimit) stopEarly("rewrap: per-pass limit");
    else if (!timeLeft()) stopEarly("rewrap: deadline");
  });

  async function rewrapToken(row: RewrapRow): Promise<void> {
    const userId = row.user_id;
    let access: string, refresh: string;
    try {
      [access, refresh] = await Promise.all([
        decryptToken(keyring, row.access_token, {
          userId,
          field: "access_token",
        }),
        decryptToken(keyring, row.refresh_token, {
          userId,
          field: "refresh_token",
        }),
      ]);
    } catch (error) {
      if (!(error instanceof TokenDecryptError)) throw error;
      tasks.rewrap.undecryptable++;
      return;
    }
    const [newAccess, newRefresh] = await Promise.all([
      encryptToken(keyring, access, { userId, field: "access_token" }),
      encryptToken(keyring, refresh, { userId, field: "refresh_token" }),
    ]);
    // Compare-and-set on the grant, the old key and the old access token: a refresh or a new
    // consent in between wins, and wrote under the current key anyway.
    const stored = await rpc("google_maintenance_rewrap_token", {
      p_user_id: userId,
      p_grant_id: row.grant_id,
      p_old_key_id: row.key_id,
      p_old_access_token: row.access_token,
      p_access_token: newAccess,
      p_refresh_token: newRefresh,
    });
    if (stored) tasks.rewrap.tokens++;
    else tasks.rewrap.conflicts++;
  }

  async function rewrapQueued(row: RevocationRewrapRow): Promise<void> {
    const binding = { userId: row.user_id, field: "refresh_token" } as const;
    let refresh: string;
    try {
      refresh = await decryptToken(keyring, row.refresh_token, binding);
    } catch (error) {
      if (!(error instanceof TokenDecryptError)) throw error;
      tasks.rewrap.undecryptable++;
      return;
    }
    const stored = await rpc("google_calendar_revocation_rewrap", {
      p_id: row.id,
      p_old_key_id: row.key_id,
      p_refresh_token: await encryptToken(keyring, refresh, binding),
    });
    if (stored) tasks.rewrap.revocations++;
    else tasks.rewrap.conflicts++;
  }

  // 6. Housekeeping: expired pending flows, delivered (and long-dead) webhook events, and
  // delivery of due events when webhooks are on.
  await task("housekeeping", async () => {
    tasks.housekeeping.flows_purged = await rpc(
      "google_maintenance_purge_flows",
      {
        p_limit: batchLimit,
      },
    );
    tasks.housekeeping.webhooks_purged = await rpc(
      "google_calendar_webhook_purge",
      {
        p_retention: `${deps.maintenance.webhookRetentionDays} days`,
        p_limit: batchLimit,
      },
    );
    if (deps.deliverWebhooks && timeLeft()) {
      tasks.housekeeping.webhooks = await deps.deliverWebhooks(
        deadline - deps.timeoutMs,
      );
    }
  });

  // 7. What the operator needs to know: rows per key id, and what is due next.
  await task("keys", async () => {
    // With the current key named, the old keys are counted exactly through the key_id index
    // (only rows still to re-wrap) and the current key's count is estimated from the table
    // statistics: the same cost at 1M rows as at 10k (see docs/maintenance.md).
    const rows = await rpc("google_maintenance_key_counts", {
      p_current_key_id: currentKid,
    });
    report.keys.rows = rows.map((r) => ({
      key_id: r.key_id,
      tokens: Number(r.tokens),
      revocations: Number(r.revocations),
      estimated: r.estimated === true,
    }));
    report.keys.old_key_rows = report.keys.rows
      .filter((r) => r.key_id !== currentKid)
      .reduce((sum, r) => sum + r.tokens + r.revocations, 0);
  });
  await task("due", async () => {
    // A jsonb object of counts (see the migration); the schema types it as any Json.
    report.due = await rpc("google_maintenance_due", {}) as Record<
      string,
      unknown
    >;
  });

  if (report.client_misconfigured > 0) {
    console.error(
      `google-maintenance: Google refused our OAuth client ${report.client_misconfigured} ` +
        "time(s) (google_client_misconfigured): check GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET",
    );
  }
  report.database.ms = Math.round(report.database.ms);
  report.duration_ms = Date.now() - startedAt;
  const cpuEnd = cpuMs();
  report.cpu_ms = cpuStart === null || cpuEnd === null ? null : Math.round(cpuEnd - cpuStart);
  return report;

  /** Database work, timed and counted in the report (rpc() and the _google_calendar modules' calls). */
  async function timedDb<T>(call: () => Promise<T>): Promise<T> {
    const start = performance.now();
    report.database.calls++;
    try {
      return await call();
    } finally {
      report.database.ms += performance.now() - start;
    }
  }
}

/**
 * Rows as the RPCs return them (the generated schema is their one definition), with the columns
 * the schema cannot mark nullable (a function's result columns) marked so here.
 */
type Nullable<T, K extends keyof T> = Omit<T, K> & { [P in K]: T[P] | null };
type RevocationRow = Nullable<
  RpcReturns<"google_calendar_revocation_claim">[number],
  "google_sub" | "key_id" | "cause"
>;
type RewrapRow = RpcReturns<"google_maintenance_rewrap_batch">[number];
type RevocationRewrapRow = RpcReturns<"google_calendar_revocation_rewrap_batch">[number];

/** User + system CPU time of this process in ms, where the runtime tells it. */
function cpuMs(): number | null {
  try {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  } catch {
    return null;
  }
}
