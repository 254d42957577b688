/**
 * One bounded maintenance pass (issue 13): runs the tasks of ./tasks/mod.ts in turn and returns
 * the report. The runner owns what no task decides alone:
 *
 * - the deadline: no claim that may call Google (or start long work) once less than one Google
 *   timeout is left, so the pass ends by its deadline even when Google hangs;
 * - the Google-call budget: counted at the client, and each claim sized by what is left of it
 *   (each row makes one call at most: the pass's token provider makes one attempt, a transient
 *   failure leaves the row for the next pass);
 * - the CPU-bound limits (rows per pass), and the CPU time the pass took;
 * - the report: every task's figures, its time, its error, why it stopped early.
 *
 * Every task finds its work through an index-served RPC that claims rows with a lease or
 * `for update skip locked`, so passes that overlap never process a row twice, and a pass that
 * dies leaves nothing behind but leases that lapse.
 */

import process from "node:process";
import { pool } from "../_google_calendar/async.ts";
import { describeForLog, isAppError } from "../_google_calendar/errors.ts";
import type { GoogleOAuth } from "../_google_calendar/google_oauth.ts";
import { dueNext, keyCounts, type PassReport, type TaskFigures } from "./report.ts";
import { createRpc } from "./rpc.ts";
import type { MaintenanceDeps, MaintenanceTask, Pass, TaskSteps } from "./task.ts";
import { TASKS } from "./tasks/mod.ts";

export type { MaintenanceDeps } from "./task.ts";
export type { PassReport } from "./report.ts";

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

/** A task as the runner sees it, whatever its figures. */
// deno-lint-ignore no-explicit-any
type AnyTask = MaintenanceTask<string, string, any>;

/**
 * Runs one pass of `tasks` (default: every listed task) and returns its report; never throws
 * (failures are in `errors`).
 */
export async function runMaintenancePass(
  deps: MaintenanceDeps,
  options: PassOptions = {},
  tasks: readonly AnyTask[] = TASKS,
): Promise<PassReport> {
  const startedAt = Date.now();
  const cpuStart = cpuMs();
  const limits = { ...PASS_DEFAULTS, ...definedOnly(options) };
  const deadline = startedAt + limits.deadlineMs;
  const budget = deps.maintenance.googleCallBudget;

  const sections: Record<string, Record<string, unknown>> = {};
  for (const task of tasks) {
    Object.assign(sections[task.section] ??= {}, task.figures());
  }
  const report: PassReport = {
    ok: true,
    started_at: new Date(startedAt).toISOString(),
    duration_ms: 0,
    deadline_ms: limits.deadlineMs,
    stopped_early: [],
    google_calls: { used: 0, budget },
    database: { calls: 0, ms: 0 },
    task_ms: {},
    cpu_ms: null,
    tasks: sections as TaskFigures,
    client_misconfigured: 0,
    keys: { current: deps.keyring.current.kid, rows: [], old_key_rows: 0 },
    due: {},
    errors: [],
  };

  /** Database work, timed and counted in the report. */
  async function timedDb<T>(call: () => Promise<T>): Promise<T> {
    const start = performance.now();
    report.database.calls++;
    try {
      return await call();
    } finally {
      report.database.ms += performance.now() - start;
    }
  }

  // Google calls: counted at the client, so retries anywhere below would show.
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
  const pass: Pass = {
    deps,
    google,
    limits,
    startedAt,
    deadline,
    rpc: createRpc(deps.db, timedDb),
    timedDb,
    googleCallsUsed: () => report.google_calls.used,
    clientMisconfigured: () => void report.client_misconfigured++,
  };

  /** Time is left to start one more Google call (or batch) and see it end by the deadline. */
  const timeLeft = () => Date.now() + deps.timeoutMs < deadline;
  const stopEarly = (why: string) => {
    if (!report.stopped_early.includes(why)) report.stopped_early.push(why);
  };
  // Work is sized by `reserved` before it starts, so the budget holds with calls in flight.
  let reserved = 0;

  /** Claims, acts and settles `steps` in batches until the work or a bound runs out. */
  async function drive(name: string, steps: TaskSteps): Promise<void> {
    const share = steps.google ? Math.ceil(budget * (steps.google.share ?? 1)) : Infinity;
    const usedAtStart = report.google_calls.used;
    let done = 0;
    for (;;) {
      let room = steps.batch;
      if (steps.limit) {
        room = Math.min(room, steps.limit.rows - done);
        if (room <= 0) return stopEarly(`${name}: ${steps.limit.reason}`);
      }
      if (steps.google) {
        const spent = report.google_calls.used - usedAtStart;
        room = Math.min(room, share - spent, budget - reserved);
        if (room <= 0) return stopEarly(`${name}: google call budget`);
      }
      if ((steps.google || steps.deadline) && !timeLeft()) {
        return stopEarly(`${name}: deadline`);
      }
      const rows = await steps.claim(room);
      if (rows.length === 0) return;
      done += rows.length;
      if (steps.google) reserved += rows.length;
      await pool(rows, steps.parallel ?? limits.concurrency, async (row) => {
        const outcome = steps.act ? await steps.act(row) : undefined;
        if (steps.settle) await steps.settle(row, outcome);
      });
      // Rows that made no Google call give their share of the budget back.
      if (steps.google) reserved = report.google_calls.used;
      const next = steps.next?.(rows, room);
      if (typeof next === "object") return stopEarly(`${name}: ${next.stop}`);
      if (next === "done" || (next !== "more" && rows.length < room)) return;
    }
  }

  /** Runs `body`, timing it and turning a failure into the report's `errors`. */
  async function timed(name: string, body: () => Promise<void>): Promise<void> {
    const start = performance.now();
    try {
      await body();
    } catch (error) {
      report.ok = false;
      report.errors.push({
        task: name,
        code: isAppError(error) ? error.code : "internal_error",
      });
      console.error(
        `google-maintenance: ${name} failed: ${describeForLog(error)}`,
      );
    } finally {
      report.task_ms[name] = Math.round(performance.now() - start);
    }
  }

  for (const task of tasks) {
    await timed(task.name, async () => {
      const steps = task.begin(pass, sections[task.section]);
      if (steps) await drive(task.name, steps);
    });
  }
  // What the operator needs to know: rows per key id, and what is due next.
  await timed("keys", async () => void (report.keys = await keyCounts(pass)));
  await timed("due", async () => void (report.due = await dueNext(pass)));

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
}

/** `options` without its undefined values (they would hide the defaults). */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/** User + system CPU time of this process in ms, where the runtime tells it. */
function cpuMs(): number | null {
  try {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  } catch {
    return null;
  }
}
