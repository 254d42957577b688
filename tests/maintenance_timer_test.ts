/**
 * The local stand-in for Supabase Cron (local/stack/maintenance_timer.ts), against a fake
 * function: it POSTs with the service key, runs one pass at a time, logs only passes that did
 * something or failed, and stops cleanly.
 */

import assert from "node:assert/strict";
import { describeTick, startMaintenanceTimer } from "../local/stack/maintenance_timer.ts";

function quietReport(extra: Record<string, unknown> = {}) {
  return {
    ok: true,
    duration_ms: 12,
    google_calls: { used: 0 },
    tasks: { keepalive: { refreshed: 0, stopped: null }, expired: { deleted: 0 } },
    errors: [],
    ...extra,
  };
}

Deno.test("the maintenance timer POSTs with the service key, one pass at a time", async () => {
  const seen: { method: string; auth: string | null }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const fakeFetch: typeof fetch = async (input, init) => {
    const req = new Request(input, init);
    seen.push({ method: req.method, auth: req.headers.get("authorization") });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await gate;
    inFlight--;
    return new Response(JSON.stringify(quietReport()), { status: 200 });
  };
  const lines: string[] = [];
  const timer = startMaintenanceTimer(
    { functionsUrl: "http://127.0.0.1:1/functions/v1", serviceKey: "service-key" },
    { intervalSeconds: 3600, log: (l) => lines.push(l), fetch: fakeFetch },
  );
  const first = timer.runNow();
  const second = timer.runNow(); // waits for the first
  release();
  const [a, b] = await Promise.all([first, second]);
  await timer.stop();
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.equal(timer.passes, 2);
  assert.equal(maxInFlight, 1, "never two passes at once");
  assert.deepEqual(seen[0], { method: "POST", auth: "Bearer service-key" });
  assert.deepEqual(lines, [], "quiet passes say nothing");
});

Deno.test("describeTick() names what a pass did, its errors, and a failed call", () => {
  assert.equal(describeTick({ status: 200, report: quietReport(), error: null }), null);
  const busy = quietReport({
    ok: false,
    google_calls: { used: 3 },
    tasks: { keepalive: { refreshed: 3 }, expired: { deleted: 1 } },
    errors: [{ task: "rewrap", code: "database_unavailable" }],
  });
  assert.equal(
    describeTick({ status: 503, report: busy, error: null }),
    "maintenance pass (12 ms, 3 Google calls): keepalive.refreshed 3, expired.deleted 1, " +
      "rewrap: database_unavailable",
  );
  assert.equal(
    describeTick({ status: null, report: null, error: "TypeError" }),
    "maintenance pass failed: TypeError",
  );
  assert.equal(
    describeTick({ status: 502, report: null, error: null }),
    "maintenance pass answered 502 without a report",
  );
});
