/**
 * getGoogleAccessToken for a valid token, in one process (access_token_worker.ts), call by call
 * and interleaved, against a plain supabase-js select of the same row. Goal: ≤ 1.15 × at p50
 * and p99.
 */

import { median, round } from "../../stats.ts";
import { type BenchContext, log, type PhaseResult, runWorker } from "../context.ts";
import { mark } from "../report.ts";

/** Its value for --only. */
export const name = "access_token";
/** Its key in results.json. */
export const key = "access_token";
/** The log line when it starts. */
export const title = "getGoogleAccessToken against a plain select";

type WorkerRun = { ours: { p50: number; p99: number }; select: { p50: number; p99: number } };

/** Times getGoogleAccessToken against a select for the context's connected user. */
export async function run(ctx: BenchContext): Promise<PhaseResult> {
  const { runs: runCount, calls } = ctx.plan.accessToken;
  const runs = await runWorker<WorkerRun[]>("local/bench/access_token_worker.ts", [
    `${ctx.stack.info.stack_dir}/stack.json`,
    await ctx.connectedUser(),
    String(runCount),
    String(calls),
  ]);
  const ours = {
    p50: median(runs.map((x) => x.ours.p50)),
    p99: median(runs.map((x) => x.ours.p99)),
  };
  const select = {
    p50: median(runs.map((x) => x.select.p50)),
    p99: median(runs.map((x) => x.select.p99)),
  };
  const a = {
    goal: "p50 and p99 ≤ 1.15 × a plain supabase-js select",
    getGoogleAccessToken: { p50: round(ours.p50, 3), p99: round(ours.p99, 3) },
    plain_select: { p50: round(select.p50, 3), p99: round(select.p99, 3) },
    p50_ratio: round(ours.p50 / select.p50, 3),
    p99_ratio: round(ours.p99 / select.p99, 3),
    goal_met: ours.p50 / select.p50 <= 1.15 && ours.p99 / select.p99 <= 1.15,
    calls_per_run: calls,
    runs,
  };
  log(
    `  getGoogleAccessToken p50 ${a.getGoogleAccessToken.p50} ms vs select ${a.plain_select.p50} ms → ${a.p50_ratio}`,
  );
  return {
    section: a,
    rows: [{
      figure: "getGoogleAccessToken, valid token",
      measured: `p50 ${a.getGoogleAccessToken.p50} ms, p99 ${a.getGoogleAccessToken.p99} ms`,
      baseline: `supabase-js select: p50 ${a.plain_select.p50} ms, p99 ${a.plain_select.p99} ms`,
      ratio: `p50 ${a.p50_ratio} ×, p99 ${a.p99_ratio} ×`,
      goal: `≤ 1.15: ${mark(a.goal_met)}`,
    }],
  };
}
