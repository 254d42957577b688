import assert from "node:assert/strict";
import type { AdminClient } from "../../_google_calendar/supabase_admin.ts";
import { runMaintenancePass } from "../runner.ts";
import type { MaintenanceDeps } from "../task.ts";
import { revocationQueue } from "./revocation_queue.ts";

Deno.test("revocations claim at most half the pass's Google budget, so keep-alive keeps the rest", async () => {
  const claims: Record<string, unknown>[] = [];
  const db = {
    rpc(name: string, args: Record<string, unknown>) {
      if (name === "google_calendar_revocation_claim") {
        claims.push(args);
        return Promise.resolve({ data: [], error: null });
      }
      if (name === "google_maintenance_key_counts") {
        return Promise.resolve({ data: [], error: null });
      }
      if (name === "google_maintenance_due") {
        return Promise.resolve({ data: {}, error: null });
      }
      return Promise.resolve({
        data: null,
        error: { message: `unexpected ${name}` },
      });
    },
  } as unknown as AdminClient;
  const deps = {
    db,
    google: {} as MaintenanceDeps["google"],
    keyring: { current: { kid: "k1" } } as MaintenanceDeps["keyring"],
    tokens: {} as MaintenanceDeps["tokens"],
    lease: {} as MaintenanceDeps["lease"],
    maintenance: {
      keepaliveDays: 150,
      expiringNoticeHours: 48,
      googleCallBudget: 10,
      webhookRetentionDays: 7,
    },
    webhooks: false,
    timeoutMs: 1_000,
  } satisfies MaintenanceDeps;
  const report = await runMaintenancePass(deps, { concurrency: 20 }, [
    revocationQueue,
  ]);
  assert.deepEqual(report.errors, []);
  assert.deepEqual(claims.map((c) => c.p_limit), [5]);
});
