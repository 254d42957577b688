import * as jose from "jose";
import * as oauth from "oauth4webapi";
import {
  answerConsent,
  type GoogleEmulator,
  MAX_REFRESH_TOKENS_PER_CLIENT,
  parseCliArgs,
  serveGoogleEmulator,
} from "../local/google_emulator/mod.ts";
import assert from "node:assert/strict";
import {
  CALENDAR_EVENTS,
  OTHER_TEST_CLIENT as OTHER_CLIENT,
  TEST_CLIENT as CLIENT,
  TEST_EMAIL as EMAIL,
  TEST_ISSUER as ISSUER,
  TEST_REDIRECT_URI as REDIRECT_URI,
  TEST_START as START,
  testAuthUrl as authUrl,
  testEmulator as setup,
  type TokenBody,
} from "../local/google_emulator/testing.ts";

const USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email";

interface Authorized {
  code: string;
  verifier: string;
  redirect: URL;
}

async function authorize(
  emulator: GoogleEmulator,
  options: { email?: string; params?: Record<string, string | undefined>; uncheck?: string[] } = {},
): Promise<Authorized> {
  const verifier = oauth.generateRandomCodeVerifier();
  const challenge = await oauth.calculatePKCECodeChallenge(verifier);
  const redirect = await answerConsent(
    authUrl({ code_challenge: challenge, code_challenge_method: "S256", ...options.params }),
    { email: options.email ?? EMAIL, uncheck: options.uncheck ?? [], fetch: emulator.fetch },
  );
  const code = redirect.searchParams.get("code");
  if (code === null) throw new Error(`no code in ${redirect.href}`);
  return { code, verifier, redirect };
}

async function tokenCall(
  emulator: GoogleEmulator,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: TokenBody; response: Response }> {
  const response = await emulator.fetch("/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  const body = await response.clone().json() as TokenBody;
  return { status: response.status, body, response };
}

function exchange(emulator: GoogleEmulator, authorized: Authorized, extra = {}) {
  return tokenCall(emulator, {
    grant_type: "authorization_code",
    code: authorized.code,
    redirect_uri: REDIRECT_URI,
    code_verifier: authorized.verifier,
    client_id: CLIENT.clientId,
    client_secret: CLIENT.clientSecret,
    ...extra,
  });
}

function refreshCall(emulator: GoogleEmulator, refreshToken: string, client = CLIENT) {
  return tokenCall(emulator, {
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    client_id: client.clientId,
    client_secret: client.clientSecret,
  });
}

async function signIn(
  emulator: GoogleEmulator,
  options: { email?: string; params?: Record<string, string | undefined>; uncheck?: string[] } = {},
): Promise<TokenBody> {
  const { status, body } = await exchange(emulator, await authorize(emulator, options));
  assert.deepEqual(status, 200, JSON.stringify(body));
  return body;
}

async function revokeCall(emulator: GoogleEmulator, token: string) {
  const response = await emulator.fetch("/revoke", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
  });
  return { status: response.status, body: await response.json() };
}

async function listEvents(emulator: GoogleEmulator, accessToken: string | undefined, query = "") {
  const headers: Record<string, string> = {};
  if (accessToken !== undefined) headers.authorization = `Bearer ${accessToken}`;
  const response = await emulator.fetch(`/calendar/v3/calendars/primary/events${query}`, {
    headers,
  });
  return { status: response.status, body: await response.json() };
}

function control(emulator: GoogleEmulator, path: string, body?: unknown) {
  return emulator.fetch(`/__emulator/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
}

// --- discovery and keys ---------------------------------------------------------------------

Deno.test("emulator: discovery document publishes endpoints derived from the issuer", async () => {
  const { emulator } = await setup();
  const doc = await (await emulator.fetch("/.well-known/openid-configuration")).json();
  assert.deepEqual(doc.issuer, ISSUER);
  assert.deepEqual(doc.authorization_endpoint, `${ISSUER}/o/oauth2/v2/auth`);
  assert.deepEqual(doc.token_endpoint, `${ISSUER}/token`);
  assert.deepEqual(doc.revocation_endpoint, `${ISSUER}/revoke`);
  assert.deepEqual(doc.jwks_uri, `${ISSUER}/oauth2/v3/certs`);
  assert.deepEqual(doc.response_types_supported, ["code"]);
  assert.deepEqual(doc.code_challenge_methods_supported, ["plain", "S256"]);
  assert.deepEqual(doc.token_endpoint_auth_methods_supported, [
    "client_secret_post",
    "client_secret_basic",
  ]);
  assert.deepEqual(doc.id_token_signing_alg_values_supported, ["RS256"]);
  const jwks = await (await emulator.fetch("/oauth2/v3/certs")).json();
  assert.deepEqual(jwks.keys.length, 1);
  assert.deepEqual(jwks.keys[0].alg, "RS256");
  assert.ok(typeof jwks.keys[0].kid === "string" && jwks.keys[0].kid.length > 0);
  assert.ok(jwks.keys[0].d === undefined, "private key material must not be published");
});

// --- authorization endpoint -----------------------------------------------------------------

Deno.test("emulator: auth endpoint shows an error page for an unknown or missing client", async () => {
  const { emulator } = await setup();
  for (const clientId of ["nobody.apps.googleusercontent.com", undefined]) {
    const response = await emulator.fetch(authUrl({ client_id: clientId }));
    const html = await response.text();
    assert.deepEqual(response.status, 400);
    assert.deepEqual(response.headers.get("location"), null);
    assert.ok(html.includes("invalid_client"), html);
  }
});

Deno.test("emulator: auth endpoint never redirects to a mismatched redirect_uri", async () => {
  const { emulator } = await setup();
  for (const redirectUri of [`${REDIRECT_URI}/`, "http://evil.test/callback"]) {
    const response = await emulator.fetch(authUrl({ redirect_uri: redirectUri }));
    const html = await response.text();
    assert.deepEqual(response.status, 400);
    assert.deepEqual(response.headers.get("location"), null);
    assert.ok(html.includes("redirect_uri_mismatch"), html);
  }
  const missing = await emulator.fetch(authUrl({ redirect_uri: undefined }));
  await missing.text();
  assert.deepEqual(missing.status, 400);
  assert.deepEqual(missing.headers.get("location"), null);
});

Deno.test("emulator: auth endpoint redirects safe request errors with state", async () => {
  const { emulator } = await setup();
  const cases: [Record<string, string | undefined>, string][] = [
    [{ response_type: "token" }, "unsupported_response_type"],
    [{ response_type: undefined }, "unsupported_response_type"],
    [{ scope: undefined }, "invalid_request"],
    [{ code_challenge: "a".repeat(43), code_challenge_method: "S512" }, "invalid_request"],
    [{ code_challenge: "too-short", code_challenge_method: "S256" }, "invalid_request"],
    [{ code_challenge: "a".repeat(42), code_challenge_method: "plain" }, "invalid_request"],
    [{ code_challenge_method: "S256" }, "invalid_request"],
  ];
  for (const [params, error] of cases) {
    const response = await emulator.fetch(authUrl(params));
    assert.deepEqual(response.status, 302, JSON.stringify(params));
    const location = new URL(response.headers.get("location") ?? "");
    assert.deepEqual(location.origin + location.pathname, REDIRECT_URI);
    assert.deepEqual(location.searchParams.get("error"), error, JSON.stringify(params));
    assert.deepEqual(location.searchParams.get("state"), "state-123");
    assert.deepEqual(location.searchParams.get("code"), null);
  }
});

Deno.test("emulator: consent page escapes values and offers checkboxes for non-sign-in scopes", async () => {
  const { emulator } = await setup({ accounts: ["known@example.com"] });
  const response = await emulator.fetch(authUrl({
    login_hint: '"><script>alert(1)</script>',
    scope: `openid email profile ${USERINFO_EMAIL} ${CALENDAR_EVENTS}`,
  }));
  const html = await response.text();
  assert.deepEqual(response.status, 200);
  assert.ok(response.headers.get("content-type")?.startsWith("text/html"));
  assert.ok(!html.includes("<script>"), "login_hint must be escaped");
  assert.ok(html.includes("&lt;script&gt;"));
  assert.ok(html.includes('name="consent_id"'));
  assert.ok(html.includes('value="known@example.com"'), "known accounts are listed");
  const checkboxes = [...html.matchAll(/type="checkbox" name="scope" value="([^"]*)"/g)]
    .map((match) => match[1]);
  assert.deepEqual(checkboxes, [CALENDAR_EVENTS]);
});

Deno.test("emulator: cancel on the consent page redirects with access_denied", async () => {
  const { emulator } = await setup();
  const redirect = await answerConsent(authUrl(), {
    email: EMAIL,
    action: "cancel",
    fetch: emulator.fetch,
  });
  assert.deepEqual(redirect.origin + redirect.pathname, REDIRECT_URI);
  assert.deepEqual(redirect.searchParams.get("error"), "access_denied");
  assert.deepEqual(redirect.searchParams.get("state"), "state-123");
  assert.deepEqual(redirect.searchParams.get("code"), null);
});

Deno.test("emulator: allow redirects with code, Google-style scope, state and iss", async () => {
  const { emulator } = await setup();
  const { redirect } = await authorize(emulator);
  assert.deepEqual(redirect.origin + redirect.pathname, REDIRECT_URI);
  assert.deepEqual(
    redirect.searchParams.get("scope"),
    `email openid ${USERINFO_EMAIL} ${CALENDAR_EVENTS}`,
  );
  assert.deepEqual(redirect.searchParams.get("state"), "state-123");
  assert.deepEqual(redirect.searchParams.get("iss"), ISSUER);
  assert.deepEqual(redirect.searchParams.get("authuser"), "0");
  assert.ok(redirect.searchParams.get("code")?.startsWith("4/0A"));
});

Deno.test("emulator: an unticked scope is not granted", async () => {
  const { emulator } = await setup();
  const authorized = await authorize(emulator, { uncheck: [CALENDAR_EVENTS] });
  assert.deepEqual(authorized.redirect.searchParams.get("scope"), `email openid ${USERINFO_EMAIL}`);
  const { body } = await exchange(emulator, authorized);
  assert.deepEqual(body.scope, `email openid ${USERINFO_EMAIL}`);
  const events = await listEvents(emulator, body.access_token);
  assert.deepEqual(events.status, 403);
});

Deno.test("emulator: a consent_id can be answered only once", async () => {
  const { emulator } = await setup();
  for (const firstAction of ["allow", "cancel"]) {
    const page = await (await emulator.fetch(authUrl())).text();
    const consentId = /name="consent_id" value="([^"]+)"/.exec(page)?.[1] ?? "";
    const post = (action: string) =>
      emulator.fetch("/o/oauth2/v2/auth/consent", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ consent_id: consentId, email: EMAIL, action }).toString(),
      });
    const first = await post(firstAction);
    assert.deepEqual(first.status, 302);
    const second = await post("allow");
    const html = await second.text();
    assert.deepEqual(second.status, 400);
    assert.deepEqual(second.headers.get("location"), null);
    assert.ok(html.includes("Error 400"));
  }
});

Deno.test("emulator: a pending consent expires with the code lifetime", async () => {
  const { emulator, advance } = await setup({ codeTtlSeconds: 60 });
  const page = await (await emulator.fetch(authUrl())).text();
  const consentId = /name="consent_id" value="([^"]+)"/.exec(page)?.[1] ?? "";
  advance(61_000);
  const response = await emulator.fetch("/o/oauth2/v2/auth/consent", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ consent_id: consentId, email: EMAIL, action: "allow" })
      .toString(),
  });
  await response.text();
  assert.deepEqual(response.status, 400);
});

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

// --- Calendar events.list -------------------------------------------------------------------

Deno.test("emulator: events.list requires a live bearer token in the header", async () => {
  const { emulator, advance } = await setup();
  const body = await signIn(emulator);
  const missing = await listEvents(emulator, undefined);
  assert.deepEqual([missing.status, missing.body.error.status], [401, "UNAUTHENTICATED"]);
  // Refused even alongside a valid header: Google no longer reads tokens from the query string.
  const inQuery = await emulator.fetch(
    `/calendar/v3/calendars/primary/events?access_token=${body.access_token}`,
    { headers: { authorization: `Bearer ${body.access_token}` } },
  );
  assert.deepEqual([inQuery.status, (await inQuery.json()).error.code], [401, 401]);
  const bogus = await listEvents(emulator, "ya29.bogus");
  assert.deepEqual(bogus.status, 401);
  assert.deepEqual((await listEvents(emulator, body.access_token)).status, 200);
  advance(3599_000);
  const expired = await listEvents(emulator, body.access_token);
  assert.deepEqual([expired.status, expired.body.error.status], [401, "UNAUTHENTICATED"]);
});

Deno.test("emulator: events.list refuses tokens without a calendar scope", async () => {
  const { emulator } = await setup();
  const body = await signIn(emulator, { params: { scope: "openid email" } });
  const { status, body: error } = await listEvents(emulator, body.access_token);
  assert.deepEqual(status, 403);
  assert.deepEqual(error.error.status, "PERMISSION_DENIED");
  assert.deepEqual(error.error.message, "Request had insufficient authentication scopes.");
  const readonly = await signIn(emulator, {
    params: { scope: "https://www.googleapis.com/auth/calendar.readonly" },
  });
  assert.deepEqual((await listEvents(emulator, readonly.access_token)).status, 200);
});

Deno.test("emulator: events.list returns seeded events filtered and sorted by start", async () => {
  const { emulator } = await setup();
  const body = await signIn(emulator);
  const event = (summary: string, start: string, end: string) => ({
    summary,
    start: { dateTime: start },
    end: { dateTime: end },
  });
  const seeded = await control(emulator, "events", {
    email: EMAIL,
    items: [
      event("late", "2026-01-07T10:00:00Z", "2026-01-07T11:00:00Z"),
      event("past", "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z"),
      event("early", "2026-01-06T10:00:00Z", "2026-01-06T11:00:00Z"),
      event("later", "2026-01-08T10:00:00Z", "2026-01-08T11:00:00Z"),
    ],
  });
  assert.deepEqual(seeded.status, 200);
  await seeded.body?.cancel();
  await emulator.seedEvents("bob@example.com", [
    event("bob's", "2026-01-06T10:00:00Z", "2026-01-06T11:00:00Z"),
  ]);
  const { status, body: list } = await listEvents(
    emulator,
    body.access_token,
    "?timeMin=2026-01-05T00:00:00Z&maxResults=2&singleEvents=true&orderBy=startTime",
  );
  assert.deepEqual(status, 200);
  assert.deepEqual(list.kind, "calendar#events");
  assert.deepEqual(list.summary, EMAIL);
  assert.deepEqual(list.items.map((item: { summary: string }) => item.summary), ["early", "late"]);
  const unordered = await listEvents(emulator, body.access_token, "?orderBy=startTime");
  assert.deepEqual(unordered.status, 400);
});

// --- faults ---------------------------------------------------------------------------------

Deno.test("emulator: a 500 fault fails the next N token calls, then the endpoint recovers", async () => {
  const { emulator } = await setup();
  const body = await signIn(emulator);
  const response = await control(emulator, "faults", { endpoint: "token", kind: "500", count: 2 });
  assert.deepEqual(response.status, 200);
  await response.body?.cancel();
  for (let i = 0; i < 2; i++) {
    const failed = await refreshCall(emulator, body.refresh_token ?? "");
    assert.deepEqual(failed.status, 500);
    assert.ok(failed.body.error !== undefined);
  }
  assert.deepEqual((await refreshCall(emulator, body.refresh_token ?? "")).status, 200);
});

Deno.test("emulator: garbage and malformed faults answer 200 with unusable bodies", async () => {
  const { emulator } = await setup();
  const body = await signIn(emulator);
  emulator.addFault({ endpoint: "token", kind: "garbage" });
  emulator.addFault({ endpoint: "token", kind: "malformed" });
  const garbage = await emulator.fetch("/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=refresh_token",
  });
  assert.deepEqual(garbage.status, 200);
  const text = await garbage.text();
  assert.throws(() => JSON.parse(text), SyntaxError);
  const malformed = await refreshCall(emulator, body.refresh_token ?? "");
  assert.deepEqual(malformed.status, 200);
  assert.deepEqual(malformed.body.access_token, undefined);
});

Deno.test("emulator: a timeout fault answers 504 after its delay or when the client gives up", async () => {
  const { emulator } = await setup();
  emulator.addFault({ endpoint: "revoke", kind: "timeout", delayMs: 0 });
  const quick = await emulator.fetch("/revoke?token=x", { method: "POST" });
  assert.deepEqual(quick.status, 504);
  await quick.body?.cancel();
  emulator.addFault({ endpoint: "revoke", kind: "timeout" });
  const controller = new AbortController();
  const pending = emulator.handler(
    new Request(`${ISSUER}/revoke?token=x`, { method: "POST", signal: controller.signal }),
  );
  controller.abort();
  const aborted = await pending;
  assert.deepEqual(aborted.status, 504);
  await aborted.body?.cancel();
});

Deno.test("emulator: a hang fault ends only when the client aborts or the emulator closes", async () => {
  const { emulator } = await setup();
  emulator.addFault({ endpoint: "events", kind: "hang", count: 2 });
  const controller = new AbortController();
  let settled = false;
  const first = emulator.handler(
    new Request(`${ISSUER}/calendar/v3/calendars/primary/events`, { signal: controller.signal }),
  ).finally(() => settled = true);
  await Promise.resolve();
  assert.ok(!settled, "a hanging call must not answer on its own");
  controller.abort();
  await (await first).body?.cancel();
  const second = emulator.fetch("/calendar/v3/calendars/primary/events");
  emulator.close();
  await (await second).body?.cancel();
  assert.deepEqual(emulator.stats().faultsServed.events, 2);
});

Deno.test("emulator: events faults and revoke faults are served before authentication", async () => {
  const { emulator } = await setup();
  emulator.addFault({ endpoint: "events", kind: "500" });
  emulator.addFault({ endpoint: "events", kind: "malformed" });
  emulator.addFault({ endpoint: "revoke", kind: "500" });
  const failed = await listEvents(emulator, "ya29.whatever");
  assert.deepEqual([failed.status, failed.body.error.code], [500, 500]);
  const malformed = await listEvents(emulator, "ya29.whatever");
  assert.deepEqual([malformed.status, malformed.body.items], [200, undefined]);
  assert.deepEqual((await revokeCall(emulator, "ya29.whatever")).status, 500);
  const bad = await control(emulator, "faults", { endpoint: "userinfo", kind: "500" });
  assert.deepEqual(bad.status, 400);
  await bad.body?.cancel();
});

// --- stats, tokens and clock controls -------------------------------------------------------

Deno.test("emulator: stats count grants by type and outcome, revocations and events calls", async () => {
  const { emulator } = await setup();
  const body = await signIn(emulator);
  const reused = await exchange(emulator, await authorize(emulator), { code_verifier: "x" });
  assert.deepEqual(reused.status, 400);
  await refreshCall(emulator, body.refresh_token ?? "");
  await refreshCall(emulator, "1//nope");
  await listEvents(emulator, body.access_token);
  await listEvents(emulator, undefined);
  await revokeCall(emulator, "nope");
  await revokeCall(emulator, body.refresh_token ?? "");
  emulator.addFault({ endpoint: "token", kind: "500" });
  await refreshCall(emulator, "1//nope");
  const stats = await (await control(emulator, "stats")).json();
  assert.deepEqual(stats.tokenGrants.authorization_code, { ok: 1, error: 1 });
  assert.deepEqual(stats.tokenGrants.refresh_token, { ok: 1, error: 1 });
  assert.deepEqual(stats.revocations, { ok: 1, error: 1 });
  assert.deepEqual(stats.eventsCalls, { ok: 1, error: 1 });
  assert.deepEqual(stats.faultsServed.token, 1);
  await (await control(emulator, "reset-stats", {})).body?.cancel();
  const reset = emulator.stats();
  assert.deepEqual(reset.tokenGrants.authorization_code, { ok: 0, error: 0 });
  assert.deepEqual(reset.revocations, { ok: 0, error: 0 });
});

Deno.test("emulator: accounts/tokens lists the live tokens issued to an account", async () => {
  const { emulator } = await setup();
  const body = await signIn(emulator);
  const refreshed = await refreshCall(emulator, body.refresh_token ?? "");
  const response = await control(emulator, `accounts/tokens?email=${encodeURIComponent(EMAIL)}`);
  const tokens = await response.json();
  assert.deepEqual(tokens.email, EMAIL);
  assert.deepEqual(tokens.refreshTokens.map((t: { token: string }) => t.token), [
    body.refresh_token,
  ]);
  assert.deepEqual(tokens.refreshTokens[0].scope, body.scope);
  assert.deepEqual(tokens.latestAccessToken.token, refreshed.body.access_token);
  assert.deepEqual(tokens.latestAccessToken.expiresAt, new Date(START + 3599_000).toISOString());
  assert.deepEqual(tokens.accessTokens.length, 2);
  const unknown = await control(emulator, "accounts/tokens?email=nobody@example.com");
  assert.deepEqual(unknown.status, 404);
  await unknown.body?.cancel();
});

Deno.test("emulator: the clock control simulates expiry without sleeping", async () => {
  const { emulator } = await setup();
  const body = await signIn(emulator);
  const shifted = await control(emulator, "clock", { offsetMs: 3600_000 });
  assert.deepEqual((await shifted.json()).offsetMs, 3600_000);
  assert.deepEqual((await listEvents(emulator, body.access_token)).status, 401);
  assert.deepEqual(emulator.accountTokens(EMAIL)?.latestAccessToken?.expired, true);
  emulator.setClockOffset(0);
  assert.deepEqual((await listEvents(emulator, body.access_token)).status, 200);
});

// --- over real HTTP -------------------------------------------------------------------------

Deno.test("emulator: full flow over HTTP with oauth4webapi, then refresh, revoke, refresh fails", async () => {
  const served = await serveGoogleEmulator({ port: 0, clients: [CLIENT] });
  try {
    const insecure = { [oauth.allowInsecureRequests]: true };
    const issuer = new URL(served.url);
    assert.ok(/^http:\/\/127\.0\.0\.1:\d+$/.test(served.url), served.url);
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, insecure),
    );
    const client: oauth.Client = { client_id: CLIENT.clientId };
    const clientAuth = oauth.ClientSecretPost(CLIENT.clientSecret);
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(as.authorization_endpoint ?? "");
    url.search = new URLSearchParams({
      client_id: CLIENT.clientId,
      redirect_uri: REDIRECT_URI,
      response_type: "code",
      scope: `openid email ${CALENDAR_EVENTS}`,
      state,
      nonce,
      access_type: "offline",
      prompt: "consent",
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    }).toString();

    const callback = await answerConsent(url, { email: EMAIL });
    const params = oauth.validateAuthResponse(as, client, callback, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      clientAuth,
      params,
      REDIRECT_URI,
      verifier,
      insecure,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: nonce,
      requireIdToken: true,
    });
    const claims = oauth.getValidatedIdTokenClaims(tokens);
    assert.deepEqual(claims?.email, EMAIL);
    const jwks = await (await fetch(as.jwks_uri ?? "")).json() as jose.JSONWebKeySet;
    await jose.jwtVerify(tokens.id_token ?? "", jose.createLocalJWKSet(jwks), {
      issuer: served.url,
      audience: CLIENT.clientId,
    });
    const refreshToken = tokens.refresh_token ?? "";
    assert.ok(refreshToken.startsWith("1//"));

    const events = await fetch(`${served.url}/calendar/v3/calendars/primary/events`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.deepEqual([events.status, (await events.json()).summary], [200, EMAIL]);

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, insecure),
    );
    assert.ok(refreshed.access_token !== tokens.access_token);
    assert.deepEqual(refreshed.refresh_token, undefined);

    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, clientAuth, refreshToken, insecure),
    );
    const error = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, insecure),
    ).then(() => assert.fail("a refresh after revocation must fail"), (e: unknown) => e);
    assert.ok(error instanceof oauth.ResponseBodyError, String(error));
    assert.deepEqual(error.error, "invalid_grant");
  } finally {
    await served.shutdown();
  }
});

Deno.test("emulator: the CLI prints its address and exits cleanly on SIGTERM", async () => {
  const main = new URL("../local/google_emulator/main.ts", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      main.pathname,
      "--port",
      "0",
      "--client-id",
      CLIENT.clientId,
      "--client-secret",
      CLIENT.clientSecret,
      "--redirect-uri",
      REDIRECT_URI,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  while (!output.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) break;
    output += value;
  }
  const match = /^google emulator listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(output);
  assert.ok(match !== null, output);
  const issuer = match[1] as string;
  const doc = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  assert.deepEqual(doc.issuer, issuer);
  child.kill("SIGTERM");
  while (!(await lines.read()).done) { /* drain until the child closes stdout */ }
  const status = await child.status;
  assert.deepEqual(status.code, 0);
});

Deno.test("emulator: CLI flags parse into serve options", () => {
  const parsed = parseCliArgs([
    "--port",
    "54340",
    "--issuer",
    ISSUER,
    "--client-id",
    "X",
    "--client-secret=Y",
    "--redirect-uri",
    REDIRECT_URI,
    "--access-token-ttl",
    "60",
  ]);
  assert.ok(typeof parsed === "object");
  assert.deepEqual(parsed.port, 54340);
  assert.deepEqual(parsed.issuer, ISSUER);
  assert.deepEqual(parsed.clients, [{
    clientId: "X",
    clientSecret: "Y",
    redirectUris: [REDIRECT_URI],
  }]);
  assert.deepEqual(parsed.accessTokenTtlSeconds, 60);
  assert.deepEqual(typeof parseCliArgs(["--client-id", "X"]), "string");
  assert.deepEqual(typeof parseCliArgs(["--bogus", "1"]), "string");
});
