// The emulator's token endpoint (authorization_code, refresh_token) and revocation.
import * as jose from "jose";
import * as oauth from "oauth4webapi";
import assert from "node:assert/strict";
import { answerConsent, MAX_REFRESH_TOKENS_PER_CLIENT } from "../local/google_emulator/mod.ts";
import {
  authorizeCode as authorize,
  CALENDAR_EVENTS,
  controlRequest as control,
  eventsCall as listEvents,
  exchange,
  OTHER_TEST_CLIENT as OTHER_CLIENT,
  refreshCall,
  revokeCall,
  signIn,
  TEST_CLIENT as CLIENT,
  TEST_EMAIL as EMAIL,
  TEST_ISSUER as ISSUER,
  TEST_REDIRECT_URI as REDIRECT_URI,
  TEST_START as START,
  testAuthUrl as authUrl,
  testEmulator as setup,
  tokenCall,
} from "../local/google_emulator/testing.ts";

const USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email";

// --- token endpoint: authorization_code -------------------------------------------------------

Deno.test("emulator: token endpoint returns Google's token response with a signed id_token", async () => {
  const { emulator } = await setup();
  const authorized = await authorize(emulator, { params: { nonce: "nonce-1" } });
  const { status, body, response } = await exchange(emulator, authorized);
  assert.deepEqual(status, 200);
  assert.deepEqual(response.headers.get("cache-control"), "no-store");
  assert.ok(body.access_token?.startsWith("ya29."));
  assert.ok(body.refresh_token?.startsWith("1//"));
  assert.deepEqual(body.expires_in, 3599);
  assert.deepEqual(body.token_type, "Bearer");
  assert.deepEqual(body.scope, `email openid ${USERINFO_EMAIL} ${CALENDAR_EVENTS}`);
  const { payload, protectedHeader } = await jose.jwtVerify(
    body.id_token ?? "",
    jose.createLocalJWKSet(emulator.jwks()),
    { issuer: ISSUER, audience: CLIENT.clientId, currentDate: new Date(START) },
  );
  assert.deepEqual(protectedHeader.alg, "RS256");
  assert.deepEqual(protectedHeader.kid, emulator.jwks().keys[0]?.kid);
  assert.deepEqual(payload.azp, CLIENT.clientId);
  assert.ok(/^1\d{20}$/.test(payload.sub ?? ""), `sub ${payload.sub}`);
  assert.deepEqual(payload.email, EMAIL);
  assert.deepEqual(payload.email_verified, true);
  assert.deepEqual(payload.nonce, "nonce-1");
  assert.deepEqual(payload.iat, START / 1000);
  assert.deepEqual(payload.exp, START / 1000 + 3600);
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body.access_token)),
  );
  assert.deepEqual(payload.at_hash, jose.base64url.encode(digest.slice(0, 16)));
});

Deno.test("emulator: the same email keeps the same sub, other emails get another", async () => {
  const { emulator } = await setup();
  const subOf = async (email: string) => {
    const { id_token } = await signIn(emulator, { email, params: { prompt: "consent" } });
    return jose.decodeJwt(id_token ?? "").sub;
  };
  const first = await subOf(EMAIL);
  assert.deepEqual(await subOf("ADA@example.com"), first);
  assert.ok(first !== await subOf("bob@example.com"));
});

Deno.test("emulator: id_token iss follows idTokenIssuerStyle, also when changed at runtime", async () => {
  const { emulator } = await setup({ idTokenIssuerStyle: "bare" });
  const bare = await signIn(emulator);
  assert.deepEqual(jose.decodeJwt(bare.id_token ?? "").iss, "127.0.0.1:54340");
  const changed = await control(emulator, "config", { idTokenIssuerStyle: "url" });
  assert.deepEqual((await changed.json()).idTokenIssuerStyle, "url");
  const url = await signIn(emulator);
  assert.deepEqual(jose.decodeJwt(url.id_token ?? "").iss, ISSUER);
});

Deno.test("emulator: no id_token without the openid scope", async () => {
  const { emulator } = await setup();
  const body = await signIn(emulator, { params: { scope: `email ${CALENDAR_EVENTS}` } });
  assert.deepEqual(body.id_token, undefined);
  assert.deepEqual(body.scope, `email ${USERINFO_EMAIL} ${CALENDAR_EVENTS}`);
});

Deno.test("emulator: refresh_token only on first offline consent or prompt=consent", async () => {
  const { emulator } = await setup();
  const online = await signIn(emulator, { params: { access_type: undefined } });
  assert.deepEqual(online.refresh_token, undefined);
  const first = await signIn(emulator);
  assert.ok(first.refresh_token !== undefined, "first offline consent gets a refresh token");
  const again = await signIn(emulator);
  assert.deepEqual(again.refresh_token, undefined);
  const forced = await signIn(emulator, { params: { prompt: "consent" } });
  assert.ok(forced.refresh_token !== undefined && forced.refresh_token !== first.refresh_token);
  const otherClient = await signIn(emulator, { params: { prompt: "select_account" } });
  assert.deepEqual(otherClient.refresh_token, undefined);
  // Once the person removes access, the next consent is a first consent again.
  emulator.revokeAccount(EMAIL);
  const afterRemoval = await signIn(emulator);
  assert.ok(afterRemoval.refresh_token !== undefined);
});

Deno.test("emulator: token endpoint checks the PKCE verifier", async () => {
  const { emulator } = await setup();
  const wrong = await exchange(emulator, await authorize(emulator), {
    code_verifier: oauth.generateRandomCodeVerifier(),
  });
  assert.deepEqual([wrong.status, wrong.body.error], [400, "invalid_grant"]);
  const missing = await authorize(emulator);
  const noVerifier = await tokenCall(emulator, {
    grant_type: "authorization_code",
    code: missing.code,
    redirect_uri: REDIRECT_URI,
    client_id: CLIENT.clientId,
    client_secret: CLIENT.clientSecret,
  });
  assert.deepEqual([noVerifier.status, noVerifier.body.error], [400, "invalid_grant"]);
  const short = await exchange(emulator, await authorize(emulator), { code_verifier: "abc" });
  assert.deepEqual(short.body.error, "invalid_grant");
  const verifier = oauth.generateRandomCodeVerifier();
  const redirect = await answerConsent(
    authUrl({ code_challenge: verifier, code_challenge_method: "plain" }),
    { email: EMAIL, fetch: emulator.fetch },
  );
  const plain = await exchange(emulator, {
    code: redirect.searchParams.get("code") ?? "",
    verifier,
    redirect,
  });
  assert.deepEqual(plain.status, 200);
});

Deno.test("emulator: token endpoint rejects a reused code and revokes its tokens", async () => {
  const { emulator } = await setup();
  const authorized = await authorize(emulator);
  const first = await exchange(emulator, authorized);
  assert.deepEqual(first.status, 200);
  assert.deepEqual((await listEvents(emulator, first.body.access_token)).status, 200);
  const second = await exchange(emulator, authorized);
  assert.deepEqual([second.status, second.body.error], [400, "invalid_grant"]);
  assert.deepEqual((await listEvents(emulator, first.body.access_token)).status, 401);
  const refreshed = await refreshCall(emulator, first.body.refresh_token ?? "");
  assert.deepEqual(refreshed.body.error, "invalid_grant");
});

Deno.test("emulator: token endpoint rejects an expired code", async () => {
  const { emulator, advance } = await setup();
  const authorized = await authorize(emulator);
  advance(600_000);
  const { status, body } = await exchange(emulator, authorized);
  assert.deepEqual([status, body.error], [400, "invalid_grant"]);
});

Deno.test("emulator: token endpoint rejects a different redirect_uri or another client's code", async () => {
  const { emulator } = await setup();
  const mismatch = await exchange(emulator, await authorize(emulator), {
    redirect_uri: `${REDIRECT_URI}?x=1`,
  });
  assert.deepEqual([mismatch.status, mismatch.body.error], [400, "invalid_grant"]);
  const stolen = await exchange(emulator, await authorize(emulator), {
    client_id: OTHER_CLIENT.clientId,
    client_secret: OTHER_CLIENT.clientSecret,
  });
  assert.deepEqual([stolen.status, stolen.body.error], [400, "invalid_grant"]);
});

Deno.test("emulator: token endpoint authenticates clients by post or basic", async () => {
  const { emulator } = await setup();
  const wrong = await exchange(emulator, await authorize(emulator), { client_secret: "nope" });
  assert.deepEqual([wrong.status, wrong.body.error], [401, "invalid_client"]);
  const unknown = await exchange(emulator, await authorize(emulator), { client_id: "who" });
  assert.deepEqual([unknown.status, unknown.body.error], [401, "invalid_client"]);
  const authorized = await authorize(emulator);
  const basic = await tokenCall(emulator, {
    grant_type: "authorization_code",
    code: authorized.code,
    redirect_uri: REDIRECT_URI,
    code_verifier: authorized.verifier,
  }, { authorization: `Basic ${btoa(`${CLIENT.clientId}:${CLIENT.clientSecret}`)}` });
  assert.deepEqual(basic.status, 200, JSON.stringify(basic.body));
  const badBasic = await tokenCall(emulator, {
    grant_type: "refresh_token",
    refresh_token: "1//x",
  }, { authorization: `Basic ${btoa(`${CLIENT.clientId}:nope`)}` });
  assert.deepEqual([badBasic.status, badBasic.body.error], [401, "invalid_client"]);
});

Deno.test("emulator: token endpoint rejects an unknown grant_type", async () => {
  const { emulator } = await setup();
  const { status, body } = await tokenCall(emulator, {
    grant_type: "password",
    client_id: CLIENT.clientId,
    client_secret: CLIENT.clientSecret,
  });
  assert.deepEqual([status, body.error], [400, "unsupported_grant_type"]);
});

// --- token endpoint: refresh_token ----------------------------------------------------------

Deno.test("emulator: refresh grant mints a new access token with the same scope and no refresh token", async () => {
  const { emulator } = await setup();
  const first = await signIn(emulator);
  const { status, body } = await refreshCall(emulator, first.refresh_token ?? "");
  assert.deepEqual(status, 200);
  assert.ok(body.access_token?.startsWith("ya29.") && body.access_token !== first.access_token);
  assert.deepEqual(body.refresh_token, undefined);
  assert.deepEqual(body.scope, first.scope);
  assert.deepEqual(body.expires_in, 3599);
  const unknown = await refreshCall(emulator, "1//unknown");
  assert.deepEqual(unknown.status, 400);
  assert.deepEqual(unknown.body, {
    error: "invalid_grant",
    error_description: "Token has been expired or revoked.",
  });
  const otherClient = await refreshCall(emulator, first.refresh_token ?? "", OTHER_CLIENT);
  assert.deepEqual(otherClient.status, 400);
  assert.ok(otherClient.body.access_token === undefined);
});

Deno.test("emulator: the 101st refresh token evicts the oldest", async () => {
  const { emulator } = await setup();
  const issued: string[] = [];
  for (let i = 0; i <= MAX_REFRESH_TOKENS_PER_CLIENT; i++) {
    const body = await signIn(emulator, { params: { prompt: "consent" } });
    issued.push(body.refresh_token ?? "");
  }
  assert.deepEqual(emulator.accountTokens(EMAIL)?.refreshTokens.length, 100);
  assert.deepEqual((await refreshCall(emulator, issued[0] ?? "")).body.error, "invalid_grant");
  assert.deepEqual((await refreshCall(emulator, issued[1] ?? "")).status, 200);
  assert.deepEqual((await refreshCall(emulator, issued[100] ?? "")).status, 200);
});

Deno.test("emulator: access tokens follow accessTokenTtlSeconds, also when changed at runtime", async () => {
  const { emulator } = await setup({ accessTokenTtlSeconds: 120 });
  const first = await signIn(emulator);
  assert.deepEqual(first.expires_in, 120);
  await (await control(emulator, "config", { accessTokenTtlSeconds: 30 })).body?.cancel();
  const refreshed = await refreshCall(emulator, first.refresh_token ?? "");
  assert.deepEqual(refreshed.body.expires_in, 30);
  const latest = emulator.accountTokens(EMAIL)?.latestAccessToken;
  assert.deepEqual(latest?.expiresAtMs, START + 30_000);
});

// --- revocation -----------------------------------------------------------------------------

Deno.test("emulator: revoking a refresh token also kills its access tokens", async () => {
  const { emulator } = await setup();
  const body = await signIn(emulator);
  const refreshed = await refreshCall(emulator, body.refresh_token ?? "");
  assert.deepEqual(await revokeCall(emulator, body.refresh_token ?? ""), { status: 200, body: {} });
  assert.deepEqual((await listEvents(emulator, body.access_token)).status, 401);
  assert.deepEqual((await listEvents(emulator, refreshed.body.access_token)).status, 401);
  assert.deepEqual(
    (await refreshCall(emulator, body.refresh_token ?? "")).body.error,
    "invalid_grant",
  );
  const again = await revokeCall(emulator, body.refresh_token ?? "");
  assert.deepEqual(again, { status: 400, body: again.body });
  assert.deepEqual(again.body.error, "invalid_token");
});

Deno.test("emulator: revoking an access token also revokes its grant's refresh token", async () => {
  const { emulator } = await setup();
  const body = await signIn(emulator);
  const response = await emulator.fetch(
    `/revoke?token=${encodeURIComponent(body.access_token ?? "")}`,
    { method: "POST" },
  );
  assert.deepEqual([response.status, await response.json()], [200, {}]);
  assert.deepEqual((await listEvents(emulator, body.access_token)).status, 401);
  assert.deepEqual(
    (await refreshCall(emulator, body.refresh_token ?? "")).body.error,
    "invalid_grant",
  );
});

Deno.test("emulator: revoking an unknown token answers 400 invalid_token", async () => {
  const { emulator } = await setup();
  const { status, body } = await revokeCall(emulator, "ya29.nothing");
  assert.deepEqual([status, body.error], [400, "invalid_token"]);
});

Deno.test("emulator: removing access for an account revokes all its tokens", async () => {
  const { emulator } = await setup();
  const body = await signIn(emulator);
  const other = await signIn(emulator, { email: "bob@example.com" });
  const response = await control(emulator, "accounts/revoke", { email: EMAIL });
  assert.deepEqual(response.status, 200);
  await response.body?.cancel();
  assert.deepEqual((await listEvents(emulator, body.access_token)).status, 401);
  assert.deepEqual(
    (await refreshCall(emulator, body.refresh_token ?? "")).body.error,
    "invalid_grant",
  );
  assert.deepEqual((await listEvents(emulator, other.access_token)).status, 200);
  assert.deepEqual(emulator.accountTokens(EMAIL)?.refreshTokens, []);
});
