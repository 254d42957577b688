// The emulator's events.list basics, faults, stats and clock controls, real HTTP and the CLI.
import * as jose from "jose";
import * as oauth from "oauth4webapi";
import assert from "node:assert/strict";
import { answerConsent, parseCliArgs, serveGoogleEmulator } from "../local/google_emulator/mod.ts";
import {
  authorizeCode as authorize,
  CALENDAR_EVENTS,
  controlRequest as control,
  eventsCall as listEvents,
  exchange,
  refreshCall,
  revokeCall,
  signIn,
  TEST_CLIENT as CLIENT,
  TEST_EMAIL as EMAIL,
  TEST_ISSUER as ISSUER,
  TEST_REDIRECT_URI as REDIRECT_URI,
  TEST_START as START,
  testEmulator as setup,
} from "../local/google_emulator/testing.ts";

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
