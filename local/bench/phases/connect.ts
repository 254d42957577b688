/**
 * google-connect: requests/s and p50/p99 at 1, 16 and 64 concurrent clients, POST with the
 * service key through the gateway, against `bench-baseline-insert` (the same body and the one
 * round trip connect cannot avoid). Goal: ≥ 0.8 of its throughput.
 */

import { median, round } from "../../stats.ts";
import { type BenchContext, createUsers, load, log, type PhaseResult } from "../context.ts";
import type { LoadResult, Step } from "../load_client.ts";
import { mark, type TableRow } from "../report.ts";

/** Its value for --only. */
export const name = "connect";
/** Its key in results.json. */
export const key = "connect";
/** The log line when it starts. */
export const title = "google-connect against the insert-only baseline";

/** Measures google-connect beside the insert-only baseline, alternating which goes first. */
export async function run(ctx: BenchContext): Promise<PhaseResult> {
  const info = ctx.stack.info;
  const plan = ctx.plan;
  const users = await createUsers(ctx, plan.connect.users, "bench-connect");
  const jobs = (fn: string): Step[][] =>
    users.map((id) => [{
      url: `${info.functions_url}/${fn}`,
      method: "POST",
      headers: ctx.serviceHeaders,
      body: JSON.stringify({ user_id: id }),
      expect: [200],
    }]);
  const targets = {
    "google-connect": jobs("google-connect"),
    baseline: jobs("bench-baseline-insert"),
  };
  const rows = [];
  for (const concurrency of plan.connect.concurrency) {
    const runs: Record<string, LoadResult[]> = { "google-connect": [], baseline: [] };
    for (let r = 0; r < plan.runs; r++) {
      const order = r % 2 === 0 ? ["baseline", "google-connect"] : ["google-connect", "baseline"];
      for (const target of order) {
        runs[target]!.push(
          await load({
            jobs: targets[target as keyof typeof targets],
            concurrency,
            reuse: true,
            warmup: { ms: plan.connect.warmupMs },
            measure: { ms: plan.connect.measureMs },
          }),
        );
      }
    }
    const fig = (target: string) => ({
      rps: round(median(runs[target]!.map((x) => x.rps)), 1),
      p50: round(median(runs[target]!.map((x) => x.p50)), 2),
      p99: round(median(runs[target]!.map((x) => x.p99)), 2),
      errors: runs[target]!.reduce((n, x) => n + x.errors, 0),
      runs: runs[target]!.map((x) => ({
        rps: round(x.rps, 1),
        p50: round(x.p50, 2),
        p99: round(x.p99, 2),
      })),
    });
    const connect = fig("google-connect");
    const baseline = fig("baseline");
    const row = {
      concurrency,
      connect,
      baseline,
      throughput_ratio: round(connect.rps / baseline.rps, 3),
      p50_ratio: round(connect.p50 / baseline.p50, 3),
      p99_ratio: round(connect.p99 / baseline.p99, 3),
      goal_met: connect.rps / baseline.rps >= 0.8,
    };
    log(
      `  c=${concurrency}: connect ${connect.rps} rps p50 ${connect.p50} ms, baseline ` +
        `${baseline.rps} rps p50 ${baseline.p50} ms → ${row.throughput_ratio}`,
    );
    rows.push(row);
  }
  return {
    section: { goal: "throughput ≥ 0.8 × baseline", rows },
    rows: rows.map((row): TableRow => ({
      figure: `google-connect, c=${row.concurrency}`,
      measured: `${row.connect.rps} req/s, p50 ${row.connect.p50} ms, p99 ${row.connect.p99} ms`,
      baseline: `insert-only function: ${row.baseline.rps} req/s, p50 ${row.baseline.p50} ms, ` +
        `p99 ${row.baseline.p99} ms`,
      ratio: `${row.throughput_ratio} × throughput`,
      goal: `≥ 0.8: ${mark(row.goal_met)}`,
    })),
  };
}
