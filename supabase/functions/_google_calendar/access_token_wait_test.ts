import assert from "node:assert/strict";
import { fakes, fresh, USER } from "./access_token_fakes.ts";
import { waitForFreshToken, waitForOthers } from "./access_token_wait.ts";
import { isAppError } from "./errors.ts";

const never = () => Promise.reject(new Error("Google is not asked"));

Deno.test("wait: a caller past its deadline does not wait at all", async () => {
  const f = fakes({}, never);
  f.holdLease("other");
  await assert.rejects(
    waitForOthers(f, USER, Date.now() - 1),
    (e) => isAppError(e, "google_unavailable"),
  );
  assert.equal(f.log.waits, 0);
});

Deno.test("wait: the refresher's save ends the wait and brings the new row", async () => {
  const f = fakes({ expiresAt: new Date(Date.now() - 1000) }, never);
  f.holdLease("other");
  const waiting = waitForFreshToken(f, USER, Date.now() + 5_000, 60_000);
  const t = fresh("theirs");
  await f.lease.saveRefreshed(USER, "other", {
    accessToken: t.accessToken,
    refreshToken: "1//refresh",
    expiresAt: t.expiresAt,
    refreshTokenExpiresAt: null,
    scopes: t.scopes,
  });
  assert.equal((await waiting)?.accessToken, "theirs");
  assert.equal(f.log.reads, 0, "no second read: the wait brought the row");
});

Deno.test("wait: a release that brings no fresh token tells the caller to look again", async () => {
  const f = fakes({ expiresAt: new Date(Date.now() - 1000) }, never);
  f.holdLease("other");
  const waiting = waitForFreshToken(f, USER, Date.now() + 5_000, 60_000);
  await f.lease.release(USER, "other", "google_unavailable");
  assert.equal(await waiting, null, "still expired: look again (and perhaps refresh)");
});

Deno.test("wait: a grant deleted meanwhile is null here; the caller's next read names it", async () => {
  const f = fakes({ expiresAt: new Date(Date.now() - 1000) }, never);
  const waiting = waitForFreshToken(f, USER, Date.now() + 5_000, 60_000);
  await f.tokens.delete(USER, {
    grantId: "grant-1",
    cause: "disconnect",
    reason: "test",
    revokedAtGoogle: false,
    needsRevocation: false,
  });
  assert.equal(await waiting, null);
});
