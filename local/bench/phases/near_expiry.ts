/**
 * Token near expiry: getGoogleAccessToken while the token is in its last five minutes (the first
 * caller starts a background renewal; every caller gets the still-valid token at once), against
 * the same calls for a valid token, interleaved in one process. Goal: p99 ≤ 1.15 × valid.
 * Refresh grants are counted at the emulator: one per run.
 */

import { median, round } from "../../stats.ts";
import { type BenchContext, createUsers, log, type PhaseResult, runWorker } from "../context.ts";
import { connectFully, refreshGrants } from "../flows.ts";
import { mark } from "../report.ts";

/** Its value for --only. */
export const name = "near_expiry";
/** Its key in results.json. */
export const key = "near_expiry";
/** The log line when it starts. */
export const title = "getGoogleAccessToken for a token near expiry against a valid one";

type Series = { p50: number; p99: number; max: number };
type WorkerRun = { near: Series; valid: Series; renewed: boolean };

/** Times the two series for the context's connected user. */
export async function run(ctx: BenchContext): Promise<PhaseResult> {
  const { runs: runCount, calls } = ctx.plan.nearExpiry;
  // Its own user: the phase moves the stored expiry back and forth.
  const [userId] = await createUsers(ctx, 1, "bench-near-expiry");
  await connectFully(ctx, userId!);
  const before = (await refreshGrants(ctx)).ok;
  const runs = await runWorker<WorkerRun[]>("local/bench/near_expiry_worker.ts", [
    `${ctx.stack.info.stack_dir}/stack.json`,
    userId!,
    String(runCount),
    String(calls),
  ]);
  const grants = (await refreshGrants(ctx)).ok - before;
  const near = {
    p50: median(runs.map((r) => r.near.p50)),
    p99: median(runs.map((r) => r.near.p99)),
  };
  const valid = {
    p50: median(runs.map((r) => r.valid.p50)),
    p99: median(runs.map((r) => r.valid.p99)),
  };
  const ratio = near.p99 / valid.p99;
  const n = {
    goal: "callers' p99 ≤ 1.15 × the valid-token p99; one background refresh per run",
    near_expiry: { p50: round(near.p50, 3), p99: round(near.p99, 3) },
    valid: { p50: round(valid.p50, 3), p99: round(valid.p99, 3) },
    p99_ratio: round(ratio, 3),
    refresh_grants: grants,
    renewed_every_run: runs.every((r) => r.renewed),
    goal_met: ratio <= 1.15 && grants === runCount && runs.every((r) => r.renewed),
    calls_per_block: calls,
    runs,
  };
  log(`  near expiry p99 ${n.near_expiry.p99} ms vs valid ${n.valid.p99} ms → ${n.p99_ratio}`);
  return {
    section: n,
    rows: [{
      figure: "getGoogleAccessToken, token near expiry (renewed ahead)",
      measured: `p50 ${n.near_expiry.p50} ms, p99 ${n.near_expiry.p99} ms; ` +
        `${grants} refreshes in ${runCount} runs`,
      baseline: `valid token: p50 ${n.valid.p50} ms, p99 ${n.valid.p99} ms`,
      ratio: `p99 ${n.p99_ratio} ×`,
      goal: `≤ 1.15, 1 refresh a run: ${mark(n.goal_met)}`,
    }],
  };
}
