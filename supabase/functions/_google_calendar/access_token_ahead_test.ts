import assert from "node:assert/strict";
import { freshness, renewAhead } from "./access_token_ahead.ts";
import { fakes, fresh, USER } from "./access_token_fakes.ts";
import { leaseSecondsFor } from "./access_token_renewal.ts";
import { delay } from "./async.ts";

const windows = { marginMs: 60_000, aheadMs: 300_000 };
const retries = { attempts: 1, backoffMs: 1, timeoutMs: 1_000 };
const tuning = { ...retries, leaseSeconds: leaseSecondsFor(retries) };

Deno.test("refresh-ahead: over the window is fresh, inside it ahead, inside the margin expired", () => {
  const at = (ms: number) => fakes({ expiresAt: new Date(1_000_000 + ms) }, fresh as never).row()!;
  assert.equal(freshness(at(300_001), windows, 1_000_000), "fresh");
  assert.equal(freshness(at(300_000), windows, 1_000_000), "ahead");
  assert.equal(freshness(at(60_001), windows, 1_000_000), "ahead");
  assert.equal(freshness(at(60_000), windows, 1_000_000), "expired");
  assert.equal(freshness(at(-5), windows, 1_000_000), "expired");
  const never = fakes({ expiresAt: null }, fresh as never).row()!;
  assert.equal(freshness(never, windows), "fresh", "no expiry given: never renewed ahead");
});

/** Polls until `done()` (the renewal runs after the answer). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await delay(5);
  assert.ok(done());
}

Deno.test("refresh-ahead: hands out the current token at once and renews under the lease after", async () => {
  let answer!: () => void;
  const f = fakes(
    { expiresAt: new Date(Date.now() + 120_000) },
    () => new Promise((resolve) => (answer = () => resolve(fresh("renewed")))),
  );
  f.holdLease("ahead-1");
  const token = renewAhead(f, tuning, f.row()!, "ahead-1");
  assert.equal(token.accessToken, "old-access", "not waiting for Google");
  await until(() => f.log.refreshes === 1);
  answer();
  await until(() => f.row()?.accessToken === "renewed");
  assert.equal(f.log.saves.length, 1);
});

Deno.test("refresh-ahead: a failed renewal lets go of the lease and records why", async () => {
  const { AppError } = await import("./errors.ts");
  const f = fakes(
    { expiresAt: new Date(Date.now() + 120_000) },
    () => Promise.reject(new AppError("google_unavailable", "down")),
  );
  f.holdLease("ahead-2");
  const token = renewAhead(f, tuning, f.row()!, "ahead-2");
  assert.equal(token.accessToken, "old-access");
  await until(() => f.log.releases.includes("google_unavailable"));
  assert.equal(await f.lease.acquire(USER, "next", 30), true, "the next caller can try");
  assert.equal(f.row()?.accessToken, "old-access");
});
