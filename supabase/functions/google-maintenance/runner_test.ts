import assert from "node:assert/strict";
import { AppError } from "../_google_calendar/errors.ts";
import type { GoogleOAuth } from "../_google_calendar/google_oauth.ts";
import type { AdminClient } from "../_google_calendar/supabase_admin.ts";
import { runMaintenancePass } from "./runner.ts";
import { defineTask, type MaintenanceDeps, type TaskSteps } from "./task.ts";

/** Deps whose database answers the runner's own two RPCs and whose Google counts revokes. */
function fakeDeps(
  overrides: { budget?: number; timeoutMs?: number; failRpc?: string } = {},
): MaintenanceDeps & { revoked: string[] } {
  const revoked: string[] = [];
  const db = {
    rpc(name: string) {
      if (name === overrides.failRpc) {
        return Promise.resolve({
          data: null,
          error: { code: "08006", message: "gone" },
        });
      }
      if (name === "google_maintenance_key_counts") {
        return Promise.resolve({
          data: [
            { key_id: "k2", tokens: 5, revocations: 1, estimated: true },
            { key_id: "k1", tokens: 2, revocations: 1, estimated: false },
          ],
          error: null,
        });
      }
      if (name === "google_maintenance_due") {
        return Promise.resolve({ data: { keepalive: 0 }, error: null });
      }
      return Promise.resolve({
        data: null,
        error: { message: `unexpected ${name}` },
      });
    },
  } as unknown as AdminClient;
  const google = {
    revoke(token: string) {
      revoked.push(token);
      return Promise.resolve(true);
    },
  } as unknown as GoogleOAuth;
  return {
    db,
    google,
    keyring: { current: { kid: "k2" } } as MaintenanceDeps["keyring"],
    tokens: {} as MaintenanceDeps["tokens"],
    lease: {} as MaintenanceDeps["lease"],
    maintenance: {
      keepaliveDays: 150,
      expiringNoticeHours: 48,
      googleCallBudget: overrides.budget ?? 100,
      webhookRetentionDays: 7,
    },
    webhooks: false,
    timeoutMs: overrides.timeoutMs ?? 1_000,
    revoked,
  };
}

/** A task over a queue of `total` numbered rows, revoking each at Google when `google`. */
function queueTask(
  name: string,
  total: number,
  steps: Partial<TaskSteps<number, string>> = {},
  log: string[] = [],
) {
  return defineTask({
    name,
    section: name,
    figures: () => ({ claimed: 0, acted: 0, settled: [] as string[] }),
    begin: (pass, figures) => {
      let next = 0;
      return {
        batch: 4,
        ...steps,
        claim(limit: number) {
          const rows = Array.from(
            { length: Math.min(limit, total - next) },
            () => next++,
          );
          figures.claimed += rows.length;
          log.push(`${name}:claim(${limit})=${rows.length}`);
          return Promise.resolve(rows);
        },
        async act(row: number) {
          if (steps.google) await pass.google.revoke(`token-${row}`);
          figures.acted++;
          return `outcome-${row}`;
        },
        settle(_row: number, outcome: string) {
          figures.settled.push(outcome);
          return Promise.resolve();
        },
      };
    },
  });
}

Deno.test("runner: runs the tasks in order, claim → act → settle, and reports their figures", async () => {
  const log: string[] = [];
  const report = await runMaintenancePass(fakeDeps(), {}, [
    queueTask("first", 6, {}, log),
    queueTask("second", 2, {}, log),
  ]);
  assert.equal(report.ok, true);
  assert.deepEqual(log, [
    "first:claim(4)=4",
    "first:claim(4)=2", // short: no more work
    "second:claim(4)=2",
  ]);
  const tasks = report.tasks as unknown as Record<
    string,
    { acted: number; settled: string[] }
  >;
  assert.equal(tasks.first!.acted, 6);
  assert.deepEqual(
    tasks.first!.settled.toSorted(),
    [0, 1, 2, 3, 4, 5].map((n) => `outcome-${n}`),
  );
  assert.deepEqual(Object.keys(report.task_ms), [
    "first",
    "second",
    "keys",
    "due",
  ]);
  assert.deepEqual(report.stopped_early, []);
  assert.equal(report.keys.old_key_rows, 3, "k1's rows only");
  assert.deepEqual(report.due, { keepalive: 0 });
  assert.equal(report.database.calls, 2, "the runner's two RPCs, counted");
});

Deno.test("runner: the Google-call budget sizes the claims, and a share caps one task", async () => {
  const deps = fakeDeps({ budget: 10 });
  const report = await runMaintenancePass(deps, {}, [
    queueTask("half", 100, { google: { share: 0.5 } }),
    queueTask("rest", 100, { google: {} }),
  ]);
  assert.equal(report.google_calls.used, 10);
  assert.equal(deps.revoked.length, 10);
  const tasks = report.tasks as unknown as Record<string, { claimed: number }>;
  assert.equal(tasks.half!.claimed, 5, "half the budget");
  assert.equal(tasks.rest!.claimed, 5, "what is left");
  assert.deepEqual(report.stopped_early, [
    "half: google call budget",
    "rest: google call budget",
  ]);
});

Deno.test("runner: rows that made no Google call give their share of the budget back", async () => {
  const deps = fakeDeps({ budget: 4 });
  let calls = 0;
  const task = defineTask({
    name: "sparse",
    section: "sparse",
    figures: () => ({ rows: 0 }),
    begin: (pass, figures) => ({
      batch: 4,
      google: {},
      claim: (limit: number) => Promise.resolve(Array.from({ length: limit }, (_, i) => i)),
      async act(row: number) {
        figures.rows++;
        // Only the first row of each batch calls Google.
        if (row === 0) {
          calls++;
          await pass.google.revoke("t");
        }
      },
    }),
  });
  const report = await runMaintenancePass(deps, {}, [task]);
  assert.equal(report.google_calls.used, 4);
  assert.equal(calls, 4);
  assert.equal(
    (report.tasks as unknown as { sparse: { rows: number } }).sparse.rows,
    4 + 3 + 2 + 1,
  );
});

Deno.test("runner: no Google claim (or long work) starts once less than one timeout is left", async () => {
  const log: string[] = [];
  const report = await runMaintenancePass(fakeDeps({ timeoutMs: 60_000 }), {
    deadlineMs: 1_000,
  }, [
    queueTask("database", 3, {}, log),
    queueTask("google", 3, { google: {} }, log),
    queueTask("long", 3, { deadline: true }, log),
  ]);
  assert.deepEqual(
    log,
    ["database:claim(4)=3"],
    "database-only work still runs",
  );
  assert.deepEqual(report.stopped_early, [
    "google: deadline",
    "long: deadline",
  ]);
  assert.equal(report.google_calls.used, 0);
});

Deno.test("runner: a per-pass row limit stops the task and says so", async () => {
  const report = await runMaintenancePass(fakeDeps(), {}, [
    queueTask("capped", 100, { limit: { rows: 6, reason: "batch limit" } }),
  ]);
  assert.equal(
    (report.tasks as unknown as { capped: { claimed: number } }).capped.claimed,
    6,
  );
  assert.deepEqual(report.stopped_early, ["capped: batch limit"]);
});

Deno.test("runner: next() can go on after a short batch, or stop with a reason", async () => {
  const log: string[] = [];
  let batches = 0;
  const report = await runMaintenancePass(fakeDeps(), {}, [
    queueTask("more", 10, { batch: 4, next: () => "more" }, log),
    queueTask("stopper", 10, {
      next: () => (++batches === 2 ? { stop: "told to" } : undefined),
    }),
  ]);
  assert.deepEqual(log, [
    "more:claim(4)=4",
    "more:claim(4)=4",
    "more:claim(4)=2",
    "more:claim(4)=0",
  ]);
  assert.equal(
    (report.tasks as unknown as { stopper: { claimed: number } }).stopper
      .claimed,
    8,
  );
  assert.deepEqual(report.stopped_early, ["stopper: told to"]);
});

Deno.test("runner: a failing task is reported by name and code; the others still run", async () => {
  const failing = defineTask({
    name: "failing",
    section: "failing",
    figures: () => ({}),
    begin: () => ({
      batch: 1,
      claim: () => Promise.reject(new AppError("database_unavailable", "down")),
    }),
  });
  const log: string[] = [];
  const report = await runMaintenancePass(
    fakeDeps({ failRpc: "google_maintenance_due" }),
    {},
    [
      failing,
      queueTask("after", 1, {}, log),
    ],
  );
  assert.equal(report.ok, false);
  assert.deepEqual(report.errors, [
    { task: "failing", code: "database_unavailable" },
    { task: "due", code: "database_unavailable" },
  ]);
  assert.deepEqual(log, ["after:claim(4)=1"]);
  assert.ok("failing" in report.task_ms);
});

Deno.test("runner: tasks sharing a section merge their figures; a task with nothing to do is skipped", async () => {
  const a = defineTask({
    name: "a",
    section: "shared",
    figures: () => ({ x: 0 }),
    begin: (_pass, figures) => ({
      batch: 1,
      claim: () => {
        figures.x = 1;
        return Promise.resolve([]);
      },
    }),
  });
  const b = defineTask({
    name: "b",
    section: "shared",
    figures: () => ({ y: null as string | null }),
    begin: () => null,
  });
  const report = await runMaintenancePass(fakeDeps(), {}, [a, b]);
  assert.deepEqual((report.tasks as unknown as { shared: unknown }).shared, {
    x: 1,
    y: null,
  });
  assert.deepEqual(report.stopped_early, []);
});
