import assert from "node:assert/strict";
import { createAccessTokenProvider } from "./access_token.ts";
import { fakes, fresh, USER } from "./access_token_fakes.ts";
import { AppError, isAppError } from "./errors.ts";
import type { GoogleTokenSet } from "./google_oauth.ts";

Deno.test("getGoogleAccessToken() returns a token valid for over five minutes without Google", async () => {
  const f = fakes({}, () => Promise.resolve(fresh()));
  const provider = createAccessTokenProvider(f);
  const token = await provider.getGoogleAccessToken(USER);
  assert.equal(token.accessToken, "old-access");
  assert.equal(f.log.refreshes, 0);
});

Deno.test("getGoogleAccessToken() refreshes a token that expires in 30 s: the margin is a minute", async () => {
  const f = fakes({ expiresAt: new Date(Date.now() + 30_000) }, () => Promise.resolve(fresh()));
  const provider = createAccessTokenProvider(f);
  assert.equal((await provider.getGoogleAccessToken(USER)).accessToken, "new-access");
  assert.equal(f.log.refreshes, 1);
});

Deno.test("getGoogleAccessToken() hands out a token near expiry at once and renews it in the background", async () => {
  let finish!: (t: GoogleTokenSet) => void;
  const f = fakes(
    { expiresAt: new Date(Date.now() + 3 * 60_000) },
    () => new Promise((resolve) => (finish = resolve)),
  );
  const provider = createAccessTokenProvider(f);
  const tokens = await Promise.all(
    Array.from({ length: 5 }, () => provider.getGoogleAccessToken(USER)),
  );
  assert.deepEqual(new Set(tokens.map((t) => t.accessToken)), new Set(["old-access"]));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(f.log.refreshes, 1, "one renewal for all callers");
  assert.equal((await provider.getGoogleAccessToken(USER)).accessToken, "old-access");
  finish(fresh());
  await new Promise((r) => setTimeout(r, 0));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(f.row()!.accessToken, "new-access", "saved under the lease");
  assert.equal((await provider.getGoogleAccessToken(USER)).accessToken, "new-access");
  assert.equal(f.log.refreshes, 1);
});

Deno.test("getGoogleAccessToken() makes concurrent callers of an expired token share one refresh", async () => {
  const f = fakes({ expiresAt: new Date(Date.now() - 60_000) }, () => Promise.resolve(fresh()));
  const provider = createAccessTokenProvider(f);
  const tokens = await Promise.all(
    Array.from({ length: 20 }, () => provider.getGoogleAccessToken(USER)),
  );
  assert.deepEqual(new Set(tokens.map((t) => t.accessToken)), new Set(["new-access"]));
  assert.equal(f.log.refreshes, 1);
});

Deno.test("getGoogleAccessToken() waits for another process's lease, then uses its token", async () => {
  const f = fakes({ expiresAt: new Date(Date.now() - 60_000) }, () => Promise.resolve(fresh()));
  f.holdLease("other-process");
  const provider = createAccessTokenProvider(f);
  const pending = provider.getGoogleAccessToken(USER);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(f.log.waits, 1, "waiting in the database, not polling");
  // The other process saves its result.
  await f.lease.saveRefreshed(USER, "other-process", {
    accessToken: "their-access",
    refreshToken: "1//refresh",
    expiresAt: new Date(Date.now() + 3600_000),
    refreshTokenExpiresAt: null,
    scopes: [],
  });
  assert.equal((await pending).accessToken, "their-access");
  assert.equal(f.log.refreshes, 0);
});

Deno.test("getGoogleAccessToken() on invalid_grant deletes only the grant it refreshed", async () => {
  const f = fakes(
    { expiresAt: new Date(Date.now() - 1000) },
    () => Promise.reject(new AppError("google_reconnect_required", "dead")),
  );
  const provider = createAccessTokenProvider(f);
  await assert.rejects(
    provider.getGoogleAccessToken(USER),
    (e) => isAppError(e, "google_reconnect_required"),
  );
  assert.equal(f.log.deletes.length, 1);
  assert.equal(f.log.deletes[0]!.grantId, "grant-1");
  assert.equal(f.log.deletes[0]!.cause, "reconnect_required");
  assert.equal(f.log.deletes[0]!.needsRevocation, false, "Google already dropped it");
});

Deno.test("getGoogleAccessToken() never deletes a grant when the OAuth client is misconfigured", async () => {
  const f = fakes(
    { expiresAt: new Date(Date.now() - 1000) },
    () => Promise.reject(new AppError("google_client_misconfigured", "client")),
  );
  const provider = createAccessTokenProvider(f);
  await assert.rejects(
    provider.getGoogleAccessToken(USER),
    (e) => isAppError(e, "google_client_misconfigured"),
  );
  assert.equal(f.log.deletes.length, 0);
  assert.ok(f.row(), "the row stays");
  assert.ok(f.log.releases.includes("google_client_misconfigured"), "recorded for status");
});

Deno.test("getGoogleAccessToken() answers google_scope_missing when a refresh narrows the scopes", async () => {
  const f = fakes(
    { expiresAt: new Date(Date.now() - 1000) },
    () =>
      Promise.resolve(
        fresh("narrow", ["openid", "https://www.googleapis.com/auth/calendar.readonly"]),
      ),
  );
  const provider = createAccessTokenProvider(f);
  await assert.rejects(
    provider.getGoogleAccessToken(USER),
    (e) => isAppError(e, "google_scope_missing"),
  );
});

Deno.test("getGoogleAccessToken() treats a lapsed time-limited grant as reconnect_required without Google", async () => {
  const f = fakes(
    { refreshTokenExpiresAt: new Date(Date.now() - 1000), expiresAt: new Date(Date.now() - 1000) },
    () => Promise.resolve(fresh()),
  );
  const provider = createAccessTokenProvider(f);
  await assert.rejects(
    provider.getGoogleAccessToken(USER),
    (e) => isAppError(e, "google_reconnect_required"),
  );
  assert.equal(f.log.refreshes, 0);
  assert.equal(f.log.deletes[0]?.reason, "google_grant_expired");
});

Deno.test("getGoogleAccessToken() releases the lease when Google keeps failing", async () => {
  const f = fakes(
    { expiresAt: new Date(Date.now() - 1000) },
    () => Promise.reject(new AppError("google_unavailable", "down")),
  );
  const provider = createAccessTokenProvider(f, { attempts: 2, backoffMs: 1 });
  await assert.rejects(
    provider.getGoogleAccessToken(USER),
    (e) => isAppError(e, "google_unavailable"),
  );
  assert.equal(f.log.refreshes, 2);
  assert.ok(await f.lease.acquire(USER, "next", 30), "the lease is free again");
});

Deno.test("a caller that waited out its deadline for another refresher does not start its own", async () => {
  const f = fakes({ expiresAt: new Date(Date.now() - 1000) }, () => Promise.resolve(fresh()));
  f.holdLease("other-process");
  const provider = createAccessTokenProvider(f, { timeoutMs: 100, deadlineMs: 150 });
  const pending = provider.getGoogleAccessToken(USER);
  await new Promise((r) => setTimeout(r, 80));
  // The other process gives up without a new token: 70 ms left, less than one Google call.
  await f.lease.release(USER, "other-process", "google_unavailable");
  await assert.rejects(pending, (e) => isAppError(e, "google_unavailable"));
  assert.equal(f.log.refreshes, 0, "no refresh it could not finish in time");
  assert.ok(await f.lease.acquire(USER, "next", 30), "and the lease it took is free again");
});

Deno.test("retries stop when the next attempt could not end by the caller's deadline", async () => {
  const f = fakes(
    { expiresAt: new Date(Date.now() - 1000) },
    () => Promise.reject(new AppError("google_unavailable", "down")),
  );
  const provider = createAccessTokenProvider(f, {
    attempts: 3,
    backoffMs: 100,
    timeoutMs: 100,
    deadlineMs: 150,
  });
  await assert.rejects(
    provider.getGoogleAccessToken(USER),
    (e) => isAppError(e, "google_unavailable"),
  );
  assert.equal(f.log.refreshes, 1, "the second attempt could not have ended in time");
});

Deno.test("the lease outlasts the whole retry budget of a refresh", () => {
  const f = fakes({}, () => Promise.resolve(fresh()));
  const provider = createAccessTokenProvider(f, { attempts: 3, backoffMs: 250, timeoutMs: 10_000 });
  // 3 × 10 s + 0.25 s + 0.5 s of backoff, plus a read and a write: over 30.75 s.
  assert.ok(provider.leaseSeconds >= 51, `lease ${provider.leaseSeconds} s`);
});

Deno.test("renew() with a refused token refreshes even a token that looks valid", async () => {
  const f = fakes({}, () => Promise.resolve(fresh()));
  const provider = createAccessTokenProvider(f);
  const token = await provider.renew(USER, { staleAccessToken: "old-access" });
  assert.equal(token.accessToken, "new-access");
  assert.equal(f.log.refreshes, 1);
});

Deno.test("renew() does not refresh again when the refused token was already replaced", async () => {
  const f = fakes({ accessToken: "someone-elses-new" }, () => Promise.resolve(fresh()));
  const provider = createAccessTokenProvider(f);
  const token = await provider.renew(USER, { staleAccessToken: "old-access" });
  assert.equal(token.accessToken, "someone-elses-new");
  assert.equal(f.log.refreshes, 0);
  // A4: not even a lease is taken for a token another caller already replaced.
  assert.equal(f.log.acquires, 0, "no lease taken");
  assert.equal(f.log.reads, 0, "no lease-taking read either");
});

Deno.test("a time-limited grant whose access token expired but whose refresh token lives is refreshed (A3)", async () => {
  const f = fakes(
    {
      expiresAt: new Date(Date.now() - 60_000),
      refreshTokenExpiresAt: new Date(Date.now() + 86_400_000),
    },
    () => Promise.resolve(fresh()),
  );
  const provider = createAccessTokenProvider(f);
  const token = await provider.getGoogleAccessToken(USER);
  assert.equal(token.accessToken, "new-access");
  assert.equal(f.log.refreshes, 1);
  assert.deepEqual(f.log.deletes, [], "not deleted as google_grant_expired");
  assert.ok(f.row(), "the grant is still stored");
});

Deno.test("getGoogleAccessToken() reads a valid token in one round trip, lease included", async () => {
  const f = fakes({}, () => Promise.resolve(fresh()));
  const provider = createAccessTokenProvider(f);
  await provider.getGoogleAccessToken(USER);
  assert.equal(f.log.reads, 1);
  assert.equal(f.log.waits, 0);
});

Deno.test("a waiter takes the refreshed row from the wait itself, without reading again", async () => {
  const f = fakes({ expiresAt: new Date(Date.now() - 60_000) }, () => Promise.resolve(fresh()));
  f.holdLease("other-process");
  const provider = createAccessTokenProvider(f);
  const pending = provider.getGoogleAccessToken(USER);
  await new Promise((r) => setTimeout(r, 0));
  await f.lease.saveRefreshed(USER, "other-process", {
    accessToken: "their-access",
    refreshToken: "1//refresh",
    expiresAt: new Date(Date.now() + 3600_000),
    refreshTokenExpiresAt: null,
    scopes: [],
  });
  assert.equal((await pending).accessToken, "their-access");
  assert.equal(f.log.reads, 1, "one read before the wait, none after");
});

Deno.test("getGoogleAccessToken() renews nothing when the row it leased is no longer due", async () => {
  const f = fakes({}, () => Promise.resolve(fresh()));
  // As if another process saved its refresh between our read and our lease.
  f.holdLease("ours");
  const lease = {
    ...f.lease,
    readForUse: () => Promise.resolve({ row: f.row(), leased: true }),
  };
  const provider = createAccessTokenProvider({ tokens: f.tokens, lease, google: f.google });
  assert.equal((await provider.getGoogleAccessToken(USER)).accessToken, "old-access");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(f.log.refreshes, 0, "no second refresh");
  assert.equal(f.log.releases.length, 1, "the lease let go at once");
});
