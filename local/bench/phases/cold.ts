/**
 * Cold start: process start (as the stack runs functions) to the first answered request, median
 * of the runs, for each function against one that imports nothing, one that imports only
 * supabase-js, and one that imports supabase-js and jose (the floor: every real request verifies
 * a JWT, so every function needs jose). Goal: ≤ 1.15 × the supabase-js + jose one.
 */

import { freePort } from "../../stack/process.ts";
import { median, round } from "../../stats.ts";
import { type BenchContext, log, type PhaseResult } from "../context.ts";
import {
  firstAnswer,
  functionEntries,
  FUNCTIONS,
  spawnFunction,
  stopChild,
} from "../function_process.ts";
import { mark, type TableRow } from "../report.ts";

/** Its value for --only. */
export const name = "cold";
/** Its key in results.json. */
export const key = "cold_start";
/** The log line when it starts. */
export const title = "cold start";

/** Starts each function and each baseline in turn, after one uncounted warm-up round. */
export async function run(ctx: BenchContext): Promise<PhaseResult> {
  const entries: [string, string][] = [
    ["bench-empty (imports nothing)", "local/bench/functions/bench-empty/index.ts"],
    ["bench-supabase-js (supabase-js only)", "local/bench/functions/bench-supabase-js/index.ts"],
    [
      "bench-supabase-js-jose (supabase-js and jose)",
      "local/bench/functions/bench-supabase-js-jose/index.ts",
    ],
    ...functionEntries(ctx),
  ];
  const times = new Map<string, number[]>(entries.map(([n]) => [n, []]));
  for (let r = -1; r < ctx.plan.cold.runs; r++) { // r = -1: a warm-up round, not counted
    for (const [fn, entry] of entries) {
      const port = freePort();
      const t0 = performance.now();
      const child = spawnFunction(ctx, entry, port);
      const ms = await firstAnswer(`http://127.0.0.1:${port}/functions/v1/bench`, child, t0);
      await stopChild(child);
      if (r >= 0) times.get(fn)!.push(ms);
    }
  }
  const empty = median(times.get(entries[0]![0])!);
  const sbjs = median(times.get(entries[1]![0])!);
  const floor = median(times.get(entries[2]![0])!);
  const rows = entries.map(([fn]) => {
    const ms = median(times.get(fn)!);
    return {
      name: fn,
      ms: round(ms, 1),
      vs_empty: round(ms / empty, 2),
      vs_supabase_js: round(ms / sbjs, 2),
      vs_supabase_js_jose: round(ms / floor, 2),
      goal_met: FUNCTIONS.includes(fn) ? ms / floor <= 1.15 : null,
      runs: times.get(fn)!.map((t) => round(t, 1)),
    };
  });
  for (const row of rows) {
    log(`  ${row.name}: ${row.ms} ms (× ${row.vs_supabase_js_jose} supabase-js + jose)`);
  }
  const [emptyRow, sbjsRow, floorRow] = [rows[0]!, rows[1]!, rows[2]!];
  return {
    section: { goal: "≤ 1.15 × the supabase-js + jose function", rows },
    rows: rows.slice(3).map((row): TableRow => ({
      figure: `cold start ${row.name}`,
      measured: `${row.ms} ms`,
      baseline: `supabase-js + jose ${floorRow.ms} ms (supabase-js only ${sbjsRow.ms} ms, ` +
        `empty ${emptyRow.ms} ms)`,
      ratio: `${row.vs_supabase_js_jose} × supabase-js + jose`,
      goal: `≤ 1.15: ${mark(row.goal_met)}`,
    })),
  };
}
