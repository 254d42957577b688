// The emulator's grants as Google keeps them: revoke ends the grant, scopes narrow,
// include_granted_scopes, email_verified, the account chooser, client deletion and secret
// rotation, refresh-token lifetimes and bulk synthetic grants.
import assert from "node:assert/strict";
import * as jose from "jose";
import {
  CALENDAR_EVENTS,
  controlCall,
  eventsCall,
  OTHER_TEST_CLIENT,
  refreshCall,
  revokeCall,
  signIn,
  TEST_CLIENT,
  TEST_EMAIL,
  testEmulator,
  tokenCall,
} from "../local/google_emulator/testing.ts";
import { bulkRefreshToken } from "../local/google_emulator/mod.ts";

const DAY_MS = 24 * 3600 * 1000;

function statusAndBody({ status, body }: { status: number; body: unknown }) {
  return { status, body };
}

Deno.test("emulator: revoking one token ends every token of that account and client", async () => {
  const { emulator } = await testEmulator();
  const first = await signIn(emulator);
  // A second app user linking the same Google account gets a second refresh token.
  const second = await signIn(emulator, { params: { prompt: "consent" } });
  const other = await signIn(emulator, { email: "bob@example.com" });
  assert.notEqual(first.refresh_token, second.refresh_token);
  assert.equal((await revokeCall(emulator, first.refresh_token ?? "")).status, 200);
  for (const token of [first.refresh_token, second.refresh_token]) {
    const refreshed = await refreshCall(emulator, token ?? "");
    assert.equal(refreshed.status, 400);
    assert.deepEqual(refreshed.body, {
      error: "invalid_grant",
      error_description: "Token has been expired or revoked.",
    });
  }
  assert.equal((await eventsCall(emulator, second.access_token ?? "")).status, 401);
  assert.equal(
    (await refreshCall(emulator, other.refresh_token ?? "")).status,
    200,
    "other accounts live on",
  );
});

Deno.test("emulator: revoking an access token ends the grant and its refresh tokens too", async () => {
  const { emulator } = await testEmulator();
  const first = await signIn(emulator);
  assert.equal((await revokeCall(emulator, first.access_token ?? "")).status, 200);
  assert.equal((await refreshCall(emulator, first.refresh_token ?? "")).status, 400);
});

Deno.test("emulator: after a revoke, include_granted_scopes no longer brings Calendar back", async () => {
  const { emulator } = await testEmulator();
  const first = await signIn(emulator);
  assert.match(first.scope ?? "", /calendar\.events/);
  // Before a revoke, unticking the box still yields Calendar through include_granted_scopes.
  const remembered = await signIn(emulator, {
    params: { include_granted_scopes: "true", prompt: "consent" },
    uncheck: [CALENDAR_EVENTS],
  });
  assert.match(remembered.scope ?? "", /calendar\.events/);
  assert.equal((await revokeCall(emulator, first.refresh_token ?? "")).status, 200);
  const after = await signIn(emulator, {
    params: { include_granted_scopes: "true", prompt: "consent" },
    uncheck: [CALENDAR_EVENTS],
  });
  assert.equal(after.scope?.includes(CALENDAR_EVENTS), false, "the remembered scopes are gone");
  assert.equal((await eventsCall(emulator, after.access_token ?? "")).status, 403);
});

Deno.test("emulator: include_granted_scopes adds earlier grants; without it only the asked scopes", async () => {
  const { emulator } = await testEmulator();
  await signIn(emulator, {
    params: { scope: "openid email https://www.googleapis.com/auth/drive.file" },
  });
  const incremental = await signIn(emulator, { params: { include_granted_scopes: "true" } });
  assert.match(incremental.scope ?? "", /drive\.file/);
  const plain = await signIn(emulator);
  assert.equal(plain.scope?.includes("drive.file"), false);
});

Deno.test("emulator: narrowing a grant makes the next refresh answer list only the narrowed scopes", async () => {
  const { emulator } = await testEmulator();
  const body = await signIn(emulator);
  const narrowed = await controlCall(emulator, "grants/narrow", {
    email: TEST_EMAIL,
    remove: [CALENDAR_EVENTS],
  });
  assert.equal(narrowed.status, 200);
  assert.equal(narrowed.body.refreshTokens, 1);
  const refreshed = await refreshCall(emulator, body.refresh_token ?? "");
  assert.equal(refreshed.status, 200);
  assert.equal(refreshed.body.scope, "email openid https://www.googleapis.com/auth/userinfo.email");
  assert.equal((await eventsCall(emulator, refreshed.body.access_token ?? "")).status, 403);
  const missing = await controlCall(emulator, "grants/narrow", { email: TEST_EMAIL });
  assert.equal(missing.status, 400);
});

Deno.test("emulator: an account with email_verified false says so in its ID token", async () => {
  const { emulator } = await testEmulator();
  const made = await controlCall(emulator, "accounts", {
    email: "eve@example.com",
    emailVerified: false,
  });
  assert.equal(made.body.emailVerified, false);
  const body = await signIn(emulator, { email: "eve@example.com" });
  const claims = jose.decodeJwt(body.id_token ?? "");
  assert.equal(claims.email, "eve@example.com");
  assert.equal(claims.email_verified, false);
  const ada = jose.decodeJwt((await signIn(emulator)).id_token ?? "");
  assert.equal(ada.email_verified, true);
});

Deno.test("emulator: prompt=select_account shows the chooser with nothing picked, and a test can pick an account", async () => {
  const { emulator } = await testEmulator({ accounts: ["ada@example.com", "bob@example.com"] });
  const page = await emulator.fetch(
    `/o/oauth2/v2/auth?client_id=${TEST_CLIENT.clientId}&redirect_uri=${
      encodeURIComponent(TEST_CLIENT.redirectUris[0] ?? "")
    }&response_type=code&scope=openid%20email&prompt=select_account&login_hint=bob@example.com`,
  );
  const html = await page.text();
  assert.match(html, /data-select-account="true"/);
  assert.equal(html.includes(" checked>"), false, "no account is picked in advance");
  const body = await signIn(emulator, {
    email: "bob@example.com",
    via: "chooser",
    params: { prompt: "select_account consent", login_hint: "ada@example.com" },
  });
  assert.equal(jose.decodeJwt(body.id_token ?? "").email, "bob@example.com");
  await assert.rejects(
    signIn(emulator, { email: "nobody@example.com", via: "chooser" }),
    /not offered in the account chooser/,
  );
});

Deno.test("emulator: a deleted client gets deleted_client, a purged one invalid_client, a restored one works", async () => {
  const { emulator } = await testEmulator();
  const body = await signIn(emulator);
  const refresh = body.refresh_token ?? "";
  assert.equal((await controlCall(emulator, "clients/delete", {})).status, 200);
  assert.deepEqual(statusAndBody(await refreshCall(emulator, refresh)), {
    status: 401,
    body: { error: "deleted_client", error_description: "The OAuth client was deleted." },
  });
  const page = await emulator.fetch(
    `/o/oauth2/v2/auth?client_id=${TEST_CLIENT.clientId}&redirect_uri=x&response_type=code&scope=openid`,
  );
  assert.equal(page.status, 401);
  assert.match(await page.text(), /deleted_client/);
  await controlCall(emulator, "clients/delete", { purged: true });
  assert.deepEqual(statusAndBody(await refreshCall(emulator, refresh)), {
    status: 401,
    body: { error: "invalid_client", error_description: "The OAuth client was not found." },
  });
  await controlCall(emulator, "clients/restore", {});
  assert.equal((await refreshCall(emulator, refresh)).status, 200);
  const unknown = await controlCall(emulator, "clients/delete", { clientId: "nope" });
  assert.equal(unknown.status, 400);
});

Deno.test("emulator: a rotated secret refuses the old one with 401 invalid_client, unless kept", async () => {
  const { emulator } = await testEmulator();
  const refresh = (await signIn(emulator)).refresh_token ?? "";
  await controlCall(emulator, "clients/secret", { secret: "secret-new", keepOld: true });
  assert.equal(
    (await refreshCall(emulator, refresh)).status,
    200,
    "both secrets work while rotating",
  );
  assert.equal(
    (await refreshCall(emulator, refresh, { ...TEST_CLIENT, clientSecret: "secret-new" })).status,
    200,
  );
  await controlCall(emulator, "clients/secret", { secret: "secret-new" });
  assert.deepEqual(statusAndBody(await refreshCall(emulator, refresh)), {
    status: 401,
    body: { error: "invalid_client", error_description: "Unauthorized" },
  });
  assert.equal(
    (await refreshCall(emulator, refresh, { ...TEST_CLIENT, clientSecret: "secret-new" })).status,
    200,
  );
});

Deno.test("emulator: another client's refresh token answers unauthorized_client", async () => {
  const { emulator } = await testEmulator();
  const refresh = (await signIn(emulator)).refresh_token ?? "";
  const { status, body } = await tokenCall(emulator, {
    grant_type: "refresh_token",
    refresh_token: refresh,
    client_id: OTHER_TEST_CLIENT.clientId,
    client_secret: OTHER_TEST_CLIENT.clientSecret,
  });
  assert.deepEqual([status, body.error], [400, "unauthorized_client"]);
});

Deno.test("emulator: in Testing, Calendar grants carry refresh_token_expires_in and die after 7 days", async () => {
  const { emulator, advance } = await testEmulator();
  await controlCall(emulator, "clients/publishing", { status: "testing" });
  const body = await signIn(emulator);
  assert.equal(body.refresh_token_expires_in, 7 * 24 * 3600);
  const signInOnly = await signIn(emulator, {
    email: "bob@example.com",
    params: { scope: "openid email" },
  });
  assert.equal(signInOnly.refresh_token_expires_in, undefined, "sign-in scopes only: no limit");
  advance(6 * DAY_MS);
  const early = await refreshCall(emulator, body.refresh_token ?? "");
  assert.equal(early.status, 200);
  assert.equal(early.body.refresh_token_expires_in, 24 * 3600);
  advance(DAY_MS);
  assert.deepEqual(statusAndBody(await refreshCall(emulator, body.refresh_token ?? "")), {
    status: 400,
    body: { error: "invalid_grant", error_description: "Token has been expired or revoked." },
  });
  assert.equal(
    emulator.accountTokens(TEST_EMAIL)?.refreshTokens[0]?.expiresAt,
    "2026-01-12T09:00:00.000Z",
  );
});

Deno.test("emulator: time-limited grants carry the chosen lifetime, and tokens/expire ends one now", async () => {
  const { emulator, advance } = await testEmulator();
  await controlCall(emulator, "clients/grant-lifetime", { seconds: 3600 });
  const limited = await signIn(emulator);
  assert.equal(limited.refresh_token_expires_in, 3600);
  advance(3600_000);
  assert.equal((await refreshCall(emulator, limited.refresh_token ?? "")).status, 400);
  await controlCall(emulator, "clients/grant-lifetime", { seconds: null });
  const plain = await signIn(emulator, { params: { prompt: "consent" } });
  assert.equal(plain.refresh_token_expires_in, undefined);
  const expired = await controlCall(emulator, "tokens/expire", {
    refreshToken: plain.refresh_token,
  });
  assert.deepEqual(expired.body, { expired: 1 });
  assert.equal(
    (await refreshCall(emulator, plain.refresh_token ?? "")).body.error,
    "invalid_grant",
  );
});

Deno.test("emulator: a refresh token unused for six months answers invalid_grant; use keeps it alive", async () => {
  const { emulator } = await testEmulator();
  const kept = await signIn(emulator);
  const idle = await signIn(emulator, { email: "bob@example.com" });
  for (let month = 0; month < 6; month++) {
    await controlCall(emulator, "clock", { advanceMs: 31 * DAY_MS });
    assert.equal((await refreshCall(emulator, kept.refresh_token ?? "")).status, 200);
  }
  assert.equal((await refreshCall(emulator, idle.refresh_token ?? "")).body.error, "invalid_grant");
});

Deno.test("emulator: bulk grants derive refresh tokens that refresh, revoke and stay cheap until used", async () => {
  const { emulator } = await testEmulator();
  const made = await controlCall(emulator, "grants/bulk", {
    count: 100_000,
    batch: "b1",
    scopes: ["openid", "email", CALENDAR_EVENTS],
  });
  assert.equal(made.status, 200);
  assert.equal(made.body.refreshTokenFormat, "1//bulk.b1.{index}");
  assert.equal(made.body.grants, undefined, "large batches are derived, not listed");
  const token = bulkRefreshToken("b1", 99_999);
  const refreshed = await refreshCall(emulator, token);
  assert.equal(refreshed.status, 200);
  assert.match(refreshed.body.scope ?? "", /calendar\.events/);
  assert.equal(jose.decodeJwt(refreshed.body.id_token ?? "").email, "bulk.b1.99999@example.com");
  assert.equal((await eventsCall(emulator, refreshed.body.access_token ?? "")).status, 200);
  assert.equal((await refreshCall(emulator, bulkRefreshToken("b1", 100_000))).status, 400);
  assert.equal((await revokeCall(emulator, bulkRefreshToken("b1", 5))).status, 200);
  assert.equal((await refreshCall(emulator, bulkRefreshToken("b1", 5))).status, 400);
  const small = await controlCall(emulator, "grants/bulk", {
    count: 2,
    batch: "b2",
    lifetimeSeconds: 60,
    lastUsedAgoMs: 10 * DAY_MS,
  });
  assert.equal(
    small.body.scope,
    `email https://www.googleapis.com/auth/userinfo.email ${CALENDAR_EVENTS}`,
  );
  assert.deepEqual(small.body.grants.map((g: { refreshToken: string }) => g.refreshToken), [
    "1//bulk.b2.0",
    "1//bulk.b2.1",
  ]);
  const limited = await refreshCall(emulator, "1//bulk.b2.1");
  assert.equal(limited.body.refresh_token_expires_in, 60);
  assert.equal(limited.body.id_token, undefined, "no openid in the default bulk scopes");
  assert.equal((await controlCall(emulator, "grants/bulk", { count: 1, batch: "b2" })).status, 400);
});

Deno.test("emulator: grants/end and emulator.control() end one client's grant", async () => {
  const { emulator } = await testEmulator();
  const body = await signIn(emulator);
  await emulator.control("grants/end", { email: TEST_EMAIL });
  assert.equal((await refreshCall(emulator, body.refresh_token ?? "")).status, 400);
  await assert.rejects(emulator.control("no/such", {}), /unknown control/);
});
