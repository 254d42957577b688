import assert from "node:assert/strict";
import { fakes, fresh, USER } from "./access_token_fakes.ts";
import {
  leaseSecondsFor,
  refreshHoldingLease,
  refreshIfLeaseFree,
  refreshWithRetries,
} from "./access_token_renewal.ts";
import { AppError, isAppError } from "./errors.ts";
import type { GoogleTokenSet } from "./google_oauth.ts";

const retries = { attempts: 3, backoffMs: 1, timeoutMs: 1_000 };
const tuning = { ...retries, leaseSeconds: leaseSecondsFor(retries) };

/** A Google refresh that fails `failures` times with `code`, then answers. */
function flaky(failures: number, code = "google_unavailable") {
  let calls = 0;
  return () =>
    ++calls <= failures
      ? Promise.reject(new AppError(code as "google_unavailable", "no"))
      : Promise.resolve(fresh(`new-${calls}`));
}

Deno.test("renewal: the lease covers every attempt, the backoffs and the save", () => {
  // 3 attempts × 10 s + 250 + 500 ms backoff + 2 × 10 s around them = 50.75 s → 51 s.
  assert.equal(leaseSecondsFor({ attempts: 3, backoffMs: 250, timeoutMs: 10_000 }), 51);
  assert.equal(leaseSecondsFor({ attempts: 1, backoffMs: 250, timeoutMs: 10_000 }), 30);
});

Deno.test("renewal: google_unavailable is retried up to the attempts; other refusals are not", async () => {
  const f = fakes({}, flaky(2));
  assert.equal((await refreshWithRetries(f, tuning, "1//r")).accessToken, "new-3");
  assert.equal(f.log.refreshes, 3);

  const g = fakes({}, flaky(3));
  await assert.rejects(
    refreshWithRetries(g, tuning, "1//r"),
    (e) => isAppError(e, "google_unavailable"),
  );
  assert.equal(g.log.refreshes, 3, "no fourth attempt");

  const h = fakes({}, flaky(1, "google_reconnect_required"));
  await assert.rejects(refreshWithRetries(h, tuning, "1//r"));
  assert.equal(h.log.refreshes, 1, "invalid_grant is final");
});

Deno.test("renewal: no retry starts that could not end by the caller's deadline", async () => {
  const f = fakes({}, flaky(5));
  await assert.rejects(refreshWithRetries(f, tuning, "1//r", Date.now() + 500));
  assert.equal(f.log.refreshes, 1);
});

Deno.test("renewal: a refresh under the lease saves the new token and lets the lease go", async () => {
  const f = fakes({ expiresAt: new Date(Date.now() - 1) }, () => Promise.resolve(fresh("mine")));
  f.holdLease("l1");
  const token = await refreshHoldingLease(f, tuning, f.row()!, "l1");
  assert.equal(token.accessToken, "mine");
  assert.equal(f.row()?.accessToken, "mine");
  assert.equal(f.log.saves[0]?.refreshToken, "1//refresh", "Google sent none: the old one stays");
  assert.equal(await f.lease.acquire(USER, "l2", 30), true, "let go by the save");
});

Deno.test("renewal: invalid_grant deletes exactly the refreshed grant", async () => {
  const f = fakes({}, flaky(1, "google_reconnect_required"));
  f.holdLease("l1");
  await assert.rejects(
    refreshHoldingLease(f, tuning, f.row()!, "l1"),
    (e) => isAppError(e, "google_reconnect_required"),
  );
  assert.equal(f.log.deletes[0]?.grantId, "grant-1");
  assert.equal(f.row(), null);
});

Deno.test("renewal: Google still failing after the retries is google_unavailable, recorded on release", async () => {
  const f = fakes({}, flaky(9));
  f.holdLease("l1");
  await assert.rejects(
    refreshHoldingLease(f, tuning, f.row()!, "l1"),
    (e) => isAppError(e, "google_unavailable"),
  );
  assert.ok(f.log.releases.includes("google_unavailable"));
  assert.equal(f.log.deletes.length, 0);
  assert.equal(f.row()?.accessToken, "old-access");
});

Deno.test("renewal: a misconfigured client is named as such, and deletes nothing", async () => {
  const f = fakes({}, flaky(1, "google_client_misconfigured"));
  f.holdLease("l1");
  await assert.rejects(
    refreshHoldingLease(f, tuning, f.row()!, "l1"),
    (e) => isAppError(e, "google_client_misconfigured"),
  );
  assert.ok(f.log.releases.includes("google_client_misconfigured"));
  assert.equal(f.log.deletes.length, 0);
});

Deno.test("renewal: a refresh that drops Calendar is saved, then google_scope_missing", async () => {
  const narrowed: GoogleTokenSet = fresh("narrow", ["openid"]);
  const f = fakes({}, () => Promise.resolve(narrowed));
  f.holdLease("l1");
  await assert.rejects(
    refreshHoldingLease(f, tuning, f.row()!, "l1"),
    (e) => isAppError(e, "google_scope_missing"),
  );
  assert.deepEqual(f.row()?.scopes, ["openid"], "saved as Google answered");
});

Deno.test("renewal: refreshIfLeaseFree is null while another holds the lease, and re-reads under it", async () => {
  const f = fakes({}, () => Promise.resolve(fresh("mine")));
  f.holdLease("other");
  assert.equal(await refreshIfLeaseFree(f, tuning, USER, () => true, Date.now() + 5_000), null);
  await f.lease.release(USER, "other");
  const notNeeded = await refreshIfLeaseFree(f, tuning, USER, () => false, Date.now() + 5_000);
  assert.equal(notNeeded?.accessToken, "old-access");
  assert.equal(f.log.refreshes, 0, "the row as it now is needs nothing");
  const needed = await refreshIfLeaseFree(f, tuning, USER, () => true, Date.now() + 5_000);
  assert.equal(needed?.accessToken, "mine");
});
