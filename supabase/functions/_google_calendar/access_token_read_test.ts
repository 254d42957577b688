import assert from "node:assert/strict";
import { fakes, fresh, USER } from "./access_token_fakes.ts";
import { remainingMs, tokenOf, usable, usableUnderLease } from "./access_token_read.ts";
import { isAppError } from "./errors.ts";

const never = () => Promise.reject(new Error("Google is not asked"));

Deno.test("read: a connected row with the calendar scope is usable as it is", async () => {
  const f = fakes({}, never);
  const row = await usable(f, f.row());
  assert.equal(row.accessToken, "old-access");
  assert.deepEqual(tokenOf(row), {
    accessToken: "old-access",
    expiresAt: row.expiresAt,
    scopes: row.scopes,
    googleEmail: row.googleEmail,
  });
  assert.equal(f.log.deletes.length, 0);
});

Deno.test("read: no row is google_not_connected; a row without Calendar is google_scope_missing", async () => {
  const none = fakes(null, never);
  await assert.rejects(usable(none, null), (e) => isAppError(e, "google_not_connected"));
  const narrow = fakes({ scopes: ["openid", "email"] }, never);
  await assert.rejects(usable(narrow, narrow.row()), (e) => isAppError(e, "google_scope_missing"));
  assert.equal(narrow.log.deletes.length, 0, "a narrow grant is kept: status shows it");
});

Deno.test("read: a lapsed time-limited grant is deleted, exactly that grant, and reported", async () => {
  const f = fakes({ refreshTokenExpiresAt: new Date(Date.now() - 1000) }, never);
  const deleted: string[] = [];
  const deps = { ...f, onGrantDeleted: (userId: string) => deleted.push(userId) };
  await assert.rejects(usable(deps, f.row()), (e) => isAppError(e, "google_reconnect_required"));
  assert.equal(f.log.deletes[0]?.grantId, "grant-1");
  assert.equal(f.log.deletes[0]?.reason, "google_grant_expired");
  assert.equal(f.log.deletes[0]?.needsRevocation, false);
  assert.deepEqual(deleted, [USER]);
  assert.equal(f.row(), null);
});

Deno.test("read: an unusable row lets go of the caller's lease; a usable one keeps it", async () => {
  const f = fakes({ scopes: [] }, never);
  f.holdLease("lease-1");
  await assert.rejects(usableUnderLease(f, f.row(), USER, "lease-1"));
  assert.equal(f.log.releases.length, 1);
  assert.equal(await f.lease.acquire(USER, "lease-2", 30), true, "the lease is free again");

  const ok = fakes({}, () => Promise.resolve(fresh()));
  ok.holdLease("lease-3");
  await usableUnderLease(ok, ok.row(), USER, "lease-3");
  assert.equal(ok.log.releases.length, 0);
});

Deno.test("read: remainingMs counts to the expiry; no expiry is Infinity", () => {
  const f = fakes({ expiresAt: new Date(10_000) }, never);
  assert.equal(remainingMs(f.row()!, 4_000), 6_000);
  const g = fakes({ expiresAt: null }, never);
  assert.equal(remainingMs(g.row()!), Infinity);
});
