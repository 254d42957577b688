/**
 * The calendar tools' own cost: list_events and create_event against a bare googleFetch of the
 * same Google call, at c=1 and c=16 (goal ≤ 1.1 × at p50), and one MCP tools/call against the
 * same tool over plain HTTP (reported). The work runs in tools_worker.ts.
 */

import { round } from "../../stats.ts";
import { type BenchContext, log, type PhaseResult, runWorker } from "../context.ts";
import { mark } from "../report.ts";

/** Its value for --only. */
export const name = "tools";
/** Its key in results.json. */
export const key = "calendar_tools";
/** The log line when it starts. */
export const title = "calendar tools against a bare googleFetch; MCP against plain HTTP";

type Pair = { p50: number; p99: number };
type WorkerResult = Record<string, { tool: Pair; bare: Pair }> & {
  doors: { mcp: Pair; http: Pair };
};

/** Times the tools against bare googleFetch calls, and the MCP door against the HTTP one. */
export async function run(ctx: BenchContext): Promise<PhaseResult> {
  const botKey = ctx.stack.info.function_env?.BOT_API_KEYS?.split(",")[0] ?? "";
  const out = await runWorker<WorkerResult>("local/bench/tools_worker.ts", [
    `${ctx.stack.info.stack_dir}/stack.json`,
    await ctx.connectedUser(),
    String(ctx.plan.tools.calls),
    botKey,
  ]);
  const { doors, ...pairs } = out;
  const section: Record<string, unknown> = { goal: "tool p50 ≤ 1.1 × bare googleFetch p50" };
  const rows = [];
  for (const [series, { tool, bare }] of Object.entries(pairs)) {
    const ratio = round(tool.p50 / bare.p50, 3);
    const met = ratio <= 1.1;
    section[series] = {
      tool: { p50: round(tool.p50, 3), p99: round(tool.p99, 3) },
      bare_google_fetch: { p50: round(bare.p50, 3), p99: round(bare.p99, 3) },
      p50_ratio: ratio,
      goal_met: met,
    };
    const [op, c] = series.split("_c");
    log(
      `  ${op} c=${c}: tool p50 ${round(tool.p50, 2)} ms vs bare ${
        round(bare.p50, 2)
      } ms → ${ratio}`,
    );
    rows.push({
      figure: `${op === "list" ? "list_events" : "create_event"} at c=${c}`,
      measured: `p50 ${round(tool.p50, 2)} ms, p99 ${round(tool.p99, 2)} ms`,
      baseline: `bare googleFetch: p50 ${round(bare.p50, 2)} ms, p99 ${round(bare.p99, 2)} ms`,
      ratio: `p50 ${ratio} ×`,
      goal: `≤ 1.1: ${mark(met)}`,
    });
  }
  const doorRatio = round(doors.mcp.p50 / doors.http.p50, 3);
  section.mcp_vs_http = {
    mcp_tools_call: { p50: round(doors.mcp.p50, 3), p99: round(doors.mcp.p99, 3) },
    http_calendar_tools: { p50: round(doors.http.p50, 3), p99: round(doors.http.p99, 3) },
    p50_ratio: doorRatio,
  };
  log(`  MCP tools/call p50 ${round(doors.mcp.p50, 2)} ms vs HTTP ${round(doors.http.p50, 2)} ms`);
  rows.push({
    figure: "MCP tools/call (list_events), c=1",
    measured: `p50 ${round(doors.mcp.p50, 2)} ms, p99 ${round(doors.mcp.p99, 2)} ms`,
    baseline: `calendar-tools over HTTP: p50 ${round(doors.http.p50, 2)} ms`,
    ratio: `p50 ${doorRatio} ×`,
    goal: "(reported)",
  });
  return { section, rows };
}
