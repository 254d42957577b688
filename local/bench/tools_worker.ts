/**
 * A separate process (as calendar-tools' Edge Function would be) timing each calendar tool's own
 * cost: the tool (list_events, create_event) against a bare googleFetch of the same Google call,
 * at concurrency 1 and 16, in rounds that alternate which goes first. Then, over the stack's
 * functions, one MCP `tools/call` against the same tool over plain HTTP. Prints one JSON line.
 * Usage: tools_worker.ts <stack.json> <user_id> <calls per series> <bot key>
 */

import { loadConfig } from "../../supabase/functions/_google_calendar/config.ts";
import { createCore } from "../../supabase/functions/_google_calendar/core.ts";
import { pool } from "../../supabase/functions/_google_calendar/async.ts";
import { createToolRunner } from "../../supabase/functions/_google_calendar/calendar/runner.ts";
import { percentile } from "../stats.ts";

const [stackFile, userId, callsArg, botKey] = Deno.args as [string, string, string, string];
const calls = Number(callsArg);
const info = JSON.parse(await Deno.readTextFile(stackFile));
const config = loadConfig(info.function_env);
const core = createCore(config);
const run = createToolRunner({
  accessTokens: core.accessTokens,
  apiBaseUrl: config.google.apiBaseUrl,
  timeoutMs: config.httpTimeoutMs,
});

const DAY = "2027-01-11";
const listInput = {
  time_min: `${DAY}T00:00:00Z`,
  time_max: `${DAY}T23:59:00Z`,
  max_results: 10,
};
const listQuery = new URLSearchParams({
  timeMin: listInput.time_min,
  timeMax: listInput.time_max,
  singleEvents: "true",
  orderBy: "startTime",
  maxResults: "10",
});
for (const t of ["default", "focusTime", "fromGmail"]) listQuery.append("eventTypes", t);
let serial = 0;
const createInput = () => ({
  request_id: `bench-${crypto.randomUUID()}`,
  summary: `Bench ${++serial}`,
  start: `${DAY}T09:00:00Z`,
  end: `${DAY}T09:30:00Z`,
});

type Op = () => Promise<unknown>;
const series: Record<string, { ours: Op; bare: Op }> = {
  list: {
    ours: () => run(userId, "list_events", listInput),
    bare: async () => {
      const res = await core.googleFetch(
        userId,
        `/calendar/v3/calendars/primary/events?${listQuery}`,
      );
      return await res.json();
    },
  },
  create: {
    ours: () => run(userId, "create_event", createInput()),
    bare: async () => {
      const { summary, start, end } = createInput();
      const res = await core.googleFetch(userId, "/calendar/v3/calendars/primary/events", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ summary, start: { dateTime: start }, end: { dateTime: end } }),
      });
      return await res.json();
    },
  },
};

async function timed(op: Op, n: number, concurrency: number): Promise<number[]> {
  return await pool(Array.from({ length: n }), concurrency, async () => {
    const t0 = performance.now();
    await op();
    return performance.now() - t0;
  });
}

const p50 = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const p99 = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 99);

// Warm both paths (JIT, connections, the token row).
for (const s of Object.values(series)) {
  await timed(s.ours, 20, 4);
  await timed(s.bare, 20, 4);
}
const results: Record<string, unknown> = {};
for (const [name, s] of Object.entries(series)) {
  for (const c of [1, 16]) {
    const ours: number[] = [];
    const bare: number[] = [];
    const rounds = 4;
    for (let r = 0; r < rounds; r++) {
      const n = Math.ceil(calls / rounds);
      if (r % 2 === 0) {
        ours.push(...await timed(s.ours, n, c));
        bare.push(...await timed(s.bare, n, c));
      } else {
        bare.push(...await timed(s.bare, n, c));
        ours.push(...await timed(s.ours, n, c));
      }
    }
    results[`${name}_c${c}`] = {
      tool: { p50: p50(ours), p99: p99(ours) },
      bare: { p50: p50(bare), p99: p99(bare) },
    };
  }
}

// The two doors, over the stack's functions: the same list_events.
const headers = {
  authorization: `Bearer ${botKey}`,
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};
const viaHttp: Op = async () => {
  const res = await fetch(`${info.functions_url}/calendar-tools`, {
    method: "POST",
    headers,
    body: JSON.stringify({ user_id: userId, tool: "list_events", input: listInput }),
  });
  if (!res.ok) throw new Error(`calendar-tools answered ${res.status}`);
  return await res.json();
};
let rpc = 0;
const viaMcp: Op = async () => {
  const res = await fetch(`${info.functions_url}/calendar-mcp`, {
    method: "POST",
    headers: { ...headers, "x-user-id": userId },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: ++rpc,
      method: "tools/call",
      params: { name: "list_events", arguments: listInput },
    }),
  });
  const body = await res.json();
  if (!res.ok || body.result?.isError) throw new Error(`calendar-mcp: ${JSON.stringify(body)}`);
  return body;
};
await timed(viaHttp, 20, 1);
await timed(viaMcp, 20, 1);
const http: number[] = [];
const mcp: number[] = [];
for (let r = 0; r < 4; r++) {
  const n = Math.ceil(calls / 4);
  if (r % 2 === 0) {
    http.push(...await timed(viaHttp, n, 1));
    mcp.push(...await timed(viaMcp, n, 1));
  } else {
    mcp.push(...await timed(viaMcp, n, 1));
    http.push(...await timed(viaHttp, n, 1));
  }
}
results.doors = { mcp: { p50: p50(mcp), p99: p99(mcp) }, http: { p50: p50(http), p99: p99(http) } };
console.log(JSON.stringify(results));
Deno.exit(0);
