import assert from "node:assert/strict";
import { base64url, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { RISC_EVENT_TYPES, RISC_ISSUER } from "./risc_facts.ts";
import { readEvents, SetError, verifySecurityEventToken } from "./risc_verify.ts";

const NOW = 1_800_000_000;
const CLIENT = "client-1.apps.googleusercontent.com";
const SUB = "109876543210987654321";

const good = await generateKeyPair("RS256", { extractable: true });
const stranger = await generateKeyPair("RS256", { extractable: true });
const goodJwk: JWK = { ...(await exportJWK(good.publicKey)), kid: "k1", alg: "RS256" };
const keys = (kid: string) => Promise.resolve(kid === "k1" ? goodJwk : undefined);
const options = {
  keys,
  audiences: [CLIENT, "other-client"],
  nowSeconds: NOW,
  skewSeconds: 300,
  maxAgeSeconds: 3 * 86_400,
};

function event(type: string = RISC_EVENT_TYPES.tokensRevoked, extra: Record<string, unknown> = {}) {
  return { [type]: { subject: { subject_type: "iss-sub", iss: RISC_ISSUER, sub: SUB }, ...extra } };
}

async function sign(
  overrides: {
    payload?: Record<string, unknown>;
    header?: Record<string, unknown>;
    key?: Parameters<SignJWT["sign"]>[0];
  } = {},
): Promise<string> {
  return await new SignJWT({
    iss: RISC_ISSUER,
    aud: CLIENT,
    iat: NOW - 10,
    jti: "jti-1",
    events: event(),
    ...overrides.payload,
  })
    .setProtectedHeader({ alg: "RS256", kid: "k1", ...overrides.header } as { alg: string })
    .sign(overrides.key ?? good.privateKey);
}

async function refused(token: string, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(verifySecurityEventToken(token, options), (error: unknown) => {
    assert.ok(error instanceof SetError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("verifySecurityEventToken() accepts Google's SET and reads its event", async () => {
  const set = await verifySecurityEventToken(await sign(), options);
  assert.equal(set.jti, "jti-1");
  assert.deepEqual(set.events, [{
    type: RISC_EVENT_TYPES.tokensRevoked,
    action: "revoke",
    reason: "google_tokens_revoked",
    googleSub: SUB,
    googleReason: null,
    state: null,
  }]);
});

Deno.test("verifySecurityEventToken() accepts an aud array naming one of our client ids", async () => {
  const set = await verifySecurityEventToken(
    await sign({ payload: { aud: ["someone-else", "other-client"] } }),
    options,
  );
  assert.equal(set.events.length, 1);
});

Deno.test("verifySecurityEventToken() refuses a body that is not a JWT", async () => {
  await refused("hello", "invalid_request", /not a signed JWT/);
  await refused("a.b", "invalid_request", /not a signed JWT/);
  await refused("", "invalid_request", /not a signed JWT/);
});

Deno.test("verifySecurityEventToken() refuses alg none", async () => {
  const header = base64url.encode(JSON.stringify({ alg: "none", kid: "k1" }));
  const body = base64url.encode(JSON.stringify({ iss: RISC_ISSUER, aud: CLIENT, iat: NOW }));
  await refused(`${header}.${body}.`, "invalid_request", /not a signed JWT/);
  await refused(`${header}.${body}.AAAA`, "invalid_key", /Only RS256/);
});

Deno.test("verifySecurityEventToken() refuses HS256, even keyed with the public key", async () => {
  const publicKeyBytes = new TextEncoder().encode(JSON.stringify(goodJwk));
  await refused(
    await sign({ header: { alg: "HS256" }, key: publicKeyBytes }),
    "invalid_key",
    /Only RS256/,
  );
});

Deno.test("verifySecurityEventToken() refuses a key that is not in the JWKS", async () => {
  await refused(
    await sign({ header: { kid: "k-unknown" }, key: stranger.privateKey }),
    "invalid_key",
    /not in the transmitter's JWKS/,
  );
  await refused(await sign({ header: { kid: undefined } }), "invalid_key", /names no key/);
});

Deno.test("verifySecurityEventToken() refuses a known kid signed by another key", async () => {
  await refused(await sign({ key: stranger.privateKey }), "invalid_key", /signature/);
});

Deno.test("verifySecurityEventToken() refuses a payload changed after signing", async () => {
  const [header, , signature] = (await sign()).split(".");
  const forged = base64url.encode(JSON.stringify({
    iss: RISC_ISSUER,
    aud: CLIENT,
    iat: NOW,
    jti: "jti-2",
    events: event(RISC_EVENT_TYPES.accountDisabled),
  }));
  await refused(`${header}.${forged}.${signature}`, "invalid_key", /signature/);
});

Deno.test("verifySecurityEventToken() refuses a wrong iss", async () => {
  await refused(
    await sign({ payload: { iss: "https://accounts.google.com" } }),
    "invalid_issuer",
    /iss must be/,
  );
  await refused(await sign({ payload: { iss: "https://evil.example/" } }), "invalid_issuer", /iss/);
});

Deno.test("verifySecurityEventToken() refuses an aud that is not ours", async () => {
  await refused(await sign({ payload: { aud: "someone-else" } }), "invalid_audience", /aud/);
  await refused(await sign({ payload: { aud: [] } }), "invalid_audience", /aud/);
});

Deno.test("verifySecurityEventToken() refuses an iat in the future beyond the skew", async () => {
  await verifySecurityEventToken(await sign({ payload: { iat: NOW + 299 } }), options);
  await refused(await sign({ payload: { iat: NOW + 301 } }), "invalid_request", /future/);
});

Deno.test("verifySecurityEventToken() refuses an iat older than the window, or none", async () => {
  await verifySecurityEventToken(await sign({ payload: { iat: NOW - 3 * 86_400 + 1 } }), options);
  await refused(
    await sign({ payload: { iat: NOW - 3 * 86_400 - 1 } }),
    "invalid_request",
    /too old/,
  );
  await refused(await sign({ payload: { iat: undefined } }), "invalid_request", /iat is missing/);
});

Deno.test("verifySecurityEventToken() refuses a missing or oversized jti", async () => {
  await refused(await sign({ payload: { jti: undefined } }), "invalid_request", /jti/);
  await refused(await sign({ payload: { jti: "j".repeat(257) } }), "invalid_request", /jti/);
});

Deno.test("readEvents() maps each event type to its action and reason", () => {
  const read = (type: string, extra: Record<string, unknown> = {}) =>
    readEvents(event(type, extra))[0]!;
  assert.deepEqual(
    [read(RISC_EVENT_TYPES.tokenRevoked).action, read(RISC_EVENT_TYPES.tokenRevoked).reason],
    ["revoke", "google_tokens_revoked"],
  );
  const disabled = read(RISC_EVENT_TYPES.accountDisabled, { reason: "hijacking" });
  assert.deepEqual(
    [disabled.action, disabled.reason, disabled.googleReason],
    ["disable", "google_account_disabled", "hijacking"],
  );
  assert.equal(read(RISC_EVENT_TYPES.accountDisabled, { reason: "<b>" }).googleReason, null);
  assert.equal(read(RISC_EVENT_TYPES.accountEnabled).reason, "google_account_enabled");
  assert.equal(read(RISC_EVENT_TYPES.sessionsRevoked).reason, "google_sessions_revoked");
  assert.equal(
    read(RISC_EVENT_TYPES.credentialChangeRequired).reason,
    "google_credential_change_required",
  );
  assert.equal(read(RISC_EVENT_TYPES.sessionsRevoked).action, "notice");
  const unknown = read("https://schemas.openid.net/secevent/risc/event-type/account-purged");
  assert.deepEqual([unknown.action, unknown.reason], ["none", "unknown"]);
});

Deno.test("readEvents() reads the verification state and acts on nothing", () => {
  const [verification] = readEvents({ [RISC_EVENT_TYPES.verification]: { state: "s-123" } });
  assert.deepEqual([verification!.action, verification!.state], ["none", "s-123"]);
});

Deno.test("readEvents() acts on nothing without a Google iss-sub subject", () => {
  const bySubject = (subject: unknown) =>
    readEvents({ [RISC_EVENT_TYPES.tokensRevoked]: { subject } })[0]!;
  assert.equal(
    bySubject({ subject_type: "iss-sub", iss: "https://evil/", sub: SUB }).action,
    "none",
  );
  assert.equal(bySubject({ subject_type: "email", email: "a@b.c" }).action, "none");
  assert.equal(
    bySubject({ subject_type: "oauth_token", token_type: "refresh_token", token: "x" }).action,
    "none",
  );
  assert.equal(bySubject({ subject_type: "iss-sub", iss: RISC_ISSUER, sub: "a b" }).action, "none");
  assert.equal(
    bySubject({ subject_type: "id_token_claims", iss: "https://evil/", sub: SUB }).action,
    "none",
  );
});

Deno.test("readEvents() acts on an id_token_claims subject naming a Google sub (email or not)", () => {
  // Google's RISC guide: "When the subject_type of the claim is id_token_claims, it might also
  // include an email field with the user's email address."
  for (
    const subject of [
      { subject_type: "id_token_claims", sub: SUB, email: "ada@example.com" },
      { subject_type: "id_token_claims", iss: "https://accounts.google.com", sub: SUB },
      { subject_type: "id_token_claims", iss: RISC_ISSUER, sub: SUB, email: "ada@example.com" },
    ]
  ) {
    const [event] = readEvents({ [RISC_EVENT_TYPES.tokensRevoked]: { subject } });
    assert.deepEqual([event!.action, event!.googleSub], ["revoke", SUB], JSON.stringify(subject));
  }
});

Deno.test("readEvents() refuses an events claim that is not an object of 1 to 16", () => {
  for (const events of [undefined, [], "x", {}]) {
    assert.throws(() => readEvents(events), (e: unknown) => e instanceof SetError);
  }
  const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`urn:e${i}`, {}]));
  assert.throws(() => readEvents(many), /1 to 16/);
});
