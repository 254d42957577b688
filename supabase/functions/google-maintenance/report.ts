/**
 * The JSON report of one pass, and the two sections the runner adds after the tasks: rows per
 * key id, and what the next pass will find. The tasks' own figures come from ./tasks/mod.ts.
 */

import type { MaintenanceTask, Pass } from "./task.ts";
import type { TASKS } from "./tasks/mod.ts";

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends
  (i: infer I) => void ? I
  : never;
type Listed = typeof TASKS[number];
type FiguresOf<T> = T extends MaintenanceTask<string, string, infer F> ? F
  : never;
type Flatten<T> = { [K in keyof T]: T[K] };

/** The figures of every task, by report section (tasks sharing a section merge theirs). */
export type TaskFigures = {
  [S in Listed["section"]]: Flatten<
    UnionToIntersection<FiguresOf<Extract<Listed, { section: S }>>>
  >;
};

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
  tasks: TaskFigures;
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

/** Rows per key id, for `report.keys`. */
export async function keyCounts(pass: Pass): Promise<PassReport["keys"]> {
  const current = pass.deps.keyring.current.kid;
  // With the current key named, the old keys are counted exactly through the key_id index
  // (only rows still to re-wrap) and the current key's count is estimated from the table
  // statistics: the same cost at 1M rows as at 10k (see docs/maintenance.md).
  const counted = await pass.rpc("google_maintenance_key_counts", {
    p_current_key_id: current,
  });
  const rows = counted.map((r) => ({
    key_id: r.key_id,
    tokens: Number(r.tokens),
    revocations: Number(r.revocations),
    estimated: r.estimated === true,
  }));
  const oldKeyRows = rows
    .filter((r) => r.key_id !== current)
    .reduce((sum, r) => sum + r.tokens + r.revocations, 0);
  return { current, rows, old_key_rows: oldKeyRows };
}

/** google_maintenance_due(), for `report.due`. */
export async function dueNext(pass: Pass): Promise<Record<string, unknown>> {
  // A jsonb object of counts (see the migration); the schema types it as any Json.
  return await pass.rpc("google_maintenance_due", {}) as Record<
    string,
    unknown
  >;
}
