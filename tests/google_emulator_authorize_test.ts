// The emulator's discovery document, JWKS, authorization endpoint and consent page.
import assert from "node:assert/strict";
import { answerConsent } from "../local/google_emulator/mod.ts";
import {
  authorizeCode as authorize,
  CALENDAR_EVENTS,
  eventsCall as listEvents,
  exchange,
  TEST_EMAIL as EMAIL,
  TEST_ISSUER as ISSUER,
  TEST_REDIRECT_URI as REDIRECT_URI,
  testAuthUrl as authUrl,
  testEmulator as setup,
} from "../local/google_emulator/testing.ts";

const USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email";

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
