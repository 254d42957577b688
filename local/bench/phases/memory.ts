/**
 * Memory: RSS (`/proc/<pid>/status`) of a fresh function process after 100, 1,000 and all
 * requests (connect and disconnect for unconnected users, status and calendar-upcoming for a
 * connected one, callback with used links), beside the insert-only baseline under the same load.
 */

import { pool } from "../../../supabase/functions/_google_calendar/async.ts";
import { freePort } from "../../stack/process.ts";
import { round } from "../../stats.ts";
import { type BenchContext, createUsers, load, log, type PhaseResult } from "../context.ts";
import { usedCallback } from "../flows.ts";
import { firstAnswer, functionEntries, spawnFunction, stopChild } from "../function_process.ts";
import type { Step } from "../load_client.ts";
import { signed, type TableRow } from "../report.ts";

/** Its value for --only. */
export const name = "memory";
/** Its key in results.json. */
export const key = "memory";
/** The log line when it starts. */
export const title = "memory";

async function rssKb(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return {
    rss: Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? NaN),
    hwm: Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? NaN),
  };
}

/** The requests that keep function `fn` busy, at `base`. */
function jobsFor(
  ctx: BenchContext,
  fn: string,
  base: string,
  users: { idle: string[]; connected: string },
): Step[][] {
  const service = ctx.serviceHeaders;
  switch (fn) {
    case "google-connect":
    case "bench-baseline-insert":
    case "google-disconnect":
      return users.idle.map((id) => [{
        url: base,
        method: "POST",
        headers: service,
        body: JSON.stringify({ user_id: id }),
        expect: [200],
      }]);
    case "google-callback":
      // Replayed links (already used): state verified, pending flow looked up, "expired".
      return ctx.usedCallbackUrls.map((u) => [{
        url: base + new URL(u).search,
        expect: [303],
        expectHeader: ["location", "result=expired"],
      }]);
    case "bench-empty":
      return [[{ url: base, expect: [200] }]];
    default:
      return [[{
        url: `${base}?user_id=${users.connected}`,
        headers: { authorization: service.authorization! },
        expect: [200],
      }]];
  }
}

/** Loads each function in a fresh process and samples its RSS along the way. */
export async function run(ctx: BenchContext): Promise<PhaseResult> {
  const plan = ctx.plan.memory;
  const idle = await createUsers(ctx, plan.users, "bench-memory");
  const connected = await ctx.connectedUser();
  if (ctx.usedCallbackUrls.length === 0) {
    // Without the callback phase: links used once now, so that every replay is "expired".
    const users = await createUsers(ctx, 64, "bench-replay");
    ctx.usedCallbackUrls = await pool(users, 8, (id) => usedCallback(ctx, id));
  }
  const rows = [];
  const targets = ([
    ["bench-empty", "local/bench/functions/bench-empty/index.ts"],
    ["bench-baseline-insert", "local/bench/functions/bench-baseline-insert/index.ts"],
    ...functionEntries(ctx),
  ] as [string, string][]).filter(([fn]) => !ctx.memoryOnly || ctx.memoryOnly.includes(fn));
  for (const [fn, entry] of targets) {
    const port = freePort();
    const base = `http://127.0.0.1:${port}/functions/v1/${fn}`;
    const jobs = jobsFor(ctx, fn, base, { idle, connected });
    const t0 = performance.now();
    const child = spawnFunction(ctx, entry, port);
    try {
      await firstAnswer(base, child, t0);
      // RSS after 100 requests (counting the first one), after 1,000, and after all of them.
      const samples: { requests: number; rss: number; hwm: number }[] = [];
      let done = 1;
      let errors = 0;
      let rps = 0;
      const points = [plan.first, 1_000, 2_500, 5_000, 10_000];
      for (let n = 20_000; n < plan.total; n += 10_000) points.push(n);
      points.push(plan.total);
      for (const upTo of points.filter((n) => n <= plan.total)) {
        if (upTo <= done) continue;
        const result = await load({
          jobs,
          concurrency: done === 1 ? 8 : 16,
          reuse: true,
          warmup: {},
          measure: { jobs: upTo - done },
        });
        errors += result.errors;
        rps = result.rps;
        done = upTo;
        samples.push({ requests: upTo, ...await rssKb(child.pid) });
      }
      const at = (n: number) => samples.find((x) => x.requests === n)!;
      const [after100, afterAll] = [at(plan.first), at(plan.total)];
      const mb = (kb: number) => round(kb / 1024, 1);
      const row = {
        name: fn,
        requests: plan.total,
        rss_after_100_mb: mb(after100.rss),
        rss_after_1000_mb: mb(at(1_000).rss),
        rss_after_all_mb: mb(afterAll.rss),
        growth_mb: mb(afterAll.rss - after100.rss),
        growth_after_1000_mb: mb(afterAll.rss - at(1_000).rss),
        growth_ratio: round(afterAll.rss / after100.rss, 2),
        curve_mb: Object.fromEntries(samples.map((x) => [x.requests, mb(x.rss)])),
        peak_mb: mb(afterAll.hwm),
        errors,
        rps: round(rps, 1),
      };
      log(
        `  ${fn}: ${row.rss_after_100_mb} MB → ${row.rss_after_1000_mb} MB → ` +
          `${row.rss_after_all_mb} MB (${row.rps} rps)`,
      );
      rows.push(row);
    } finally {
      await stopChild(child);
    }
  }
  const memBase = rows.find((r) => r.name === "bench-baseline-insert");
  return {
    section: { goal: "no growth beyond noise", rows },
    rows: rows.filter((row) => !row.name.startsWith("bench-")).map((row): TableRow => ({
      figure: `memory ${row.name}`,
      measured: `RSS ${row.rss_after_100_mb} → ${row.rss_after_1000_mb} → ` +
        `${row.rss_after_all_mb} MB after 100 → 1,000 → ${row.requests} requests`,
      baseline: memBase
        ? `insert-only function: ${memBase.rss_after_100_mb} → ${memBase.rss_after_1000_mb} → ` +
          `${memBase.rss_after_all_mb} MB`
        : "",
      ratio: `${signed(row.growth_mb)} MB (${row.growth_ratio} ×)`,
      goal: "(reported)",
    })),
  };
}
