/**
 * What a maintenance task is, and what the runner (./runner.ts) gives it. A task claims rows
 * (with a lease or `for update skip locked`, so overlapping passes never process a row twice),
 * acts on each, settles each, and keeps its figures for the report. The runner drives the
 * batches and owns everything a task must not decide alone: the deadline, the Google-call
 * budget, the CPU-bound limits and the report. A new task is one file in ./tasks/, listed once
 * in ./tasks/mod.ts.
 */

import type { Config } from "../_google_calendar/config.ts";
import type { GoogleOAuth } from "../_google_calendar/google_oauth.ts";
import type { RefreshLease } from "../_google_calendar/refresh_lease.ts";
import type { AdminClient } from "../_google_calendar/supabase_admin.ts";
import type { Keyring } from "../_google_calendar/token_crypto.ts";
import type { TokenStore } from "../_google_calendar/token_store.ts";
import type { DeliveryReport } from "../_google_calendar/webhook_delivery.ts";
import type { Rpc } from "./rpc.ts";

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

/** The limits of one pass, resolved (see PassOptions in ./runner.ts). */
export interface PassLimits {
  deadlineMs: number;
  concurrency: number;
  rewrapLimit: number;
  batchLimit: number;
}

/** What the runner gives each task for one pass. */
export interface Pass {
  readonly deps: MaintenanceDeps;
  /** deps.google, with every call counted against the pass's budget. */
  readonly google: GoogleOAuth;
  readonly limits: PassLimits;
  /** When the pass started, epoch ms. */
  readonly startedAt: number;
  /** When the pass must have ended, epoch ms. */
  readonly deadline: number;
  /** A typed RPC, timed and counted; database errors become AppError database_unavailable. */
  readonly rpc: Rpc;
  /** Other database work (the _google_calendar modules' calls), timed and counted. */
  timedDb<T>(call: () => Promise<T>): Promise<T>;
  /** Google calls made so far in this pass. */
  googleCallsUsed(): number;
  /** Counts a google_client_misconfigured answer (reported, and logged once at the end). */
  clientMisconfigured(): void;
}

/** What the runner does after a batch (see TaskSteps.next). */
export type NextStep = "more" | "done" | { stop: string } | undefined;

/**
 * One pass's run of a task: the runner claims `batch` rows at most (fewer when the budget or
 * `limit` says so), acts on each and settles each, `parallel` at a time, until a claim comes
 * back short or empty, or a bound stops it. A statement that claims and acts at once (a purge,
 * a mark) does its work in `claim` and returns what it touched.
 *
 * Methods, not function-valued properties: a task's own row type then fits the runner's
 * `TaskSteps` (method parameters are bivariant).
 */
export interface TaskSteps<Row = unknown, Outcome = unknown> {
  /** Most rows per claim. */
  readonly batch: number;
  /**
   * Each row makes at most one Google call. Claims are sized by what is left of the budget (or
   * of `share` of it), and none starts once less than one Google timeout is left.
   */
  readonly google?: { share?: number };
  /** Most rows per pass, and what `stopped_early` says when it is reached. */
  readonly limit?: { rows: number; reason: string };
  /** Start no claim once less than one Google timeout is left (long database-only work). */
  readonly deadline?: boolean;
  /** Rows acted on at once; default: the pass's concurrency. */
  readonly parallel?: number;
  claim(limit: number): Promise<Row[]>;
  act?(row: Row): Promise<Outcome>;
  settle?(row: Row, outcome: Outcome): Promise<void>;
  /**
   * After each batch: "more" claims again even after a short batch, "done" ends the task,
   * `{ stop }` ends it and says why in `stopped_early`; undefined: a short batch ends it.
   */
  next?(rows: Row[], limit: number): NextStep;
}

/** A maintenance task: its name, where its figures go in the report, and its steps. */
export interface MaintenanceTask<
  Name extends string,
  Section extends string,
  Figures,
> {
  /** Its name in `task_ms`, `errors` and `stopped_early`. */
  readonly name: Name;
  /** Its key in the report's `tasks`; tasks sharing one merge their figures there. */
  readonly section: Section;
  /** Its figures, zeroed. */
  figures(): Figures;
  /** Its steps for one pass, writing into `figures`; null when it has nothing to do. */
  begin(pass: Pass, figures: Figures): TaskSteps | null;
}

/** Defines a task, checking its steps against its own row and outcome types. */
export function defineTask<
  Name extends string,
  Section extends string,
  Figures,
  Row,
  Outcome,
>(
  task: {
    name: Name;
    section: Section;
    figures(): Figures;
    begin(pass: Pass, figures: Figures): TaskSteps<Row, Outcome> | null;
  },
): MaintenanceTask<Name, Section, Figures> {
  return task;
}
