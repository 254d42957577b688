/**
 * Who is calling, without a stack: a local ES256 key set stands in for the JWKS and a stub for
 * the Auth server's `GET /auth/v1/user` (the HTTP tests cover both over the local stack).
 */

import assert from "node:assert/strict";
import { base64url, createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from "jose";
import { callerVerifierFor, createCallerVerifier } from "./caller_auth.ts";
import { loadConfig } from "./config.ts";
import { VALID_ENV } from "../../../tests/support/config_env.ts";
import { AppError } from "./errors.ts";

const ISSUER = "https://abc.supabase.co/auth/v1";
const USER = "6f1c2b7e-5d4a-4c3b-9a8f-0e1d2c3b4a59";
const SERVICE_KEY = "service-role-key-for-the-unit-tests";
const BOT_KEYS = ["bot_6c1f9e2a7b4d8035e1a9c7f24b6d0e83", "bot_0a9b8c7d6e5f40312a3b4c5d6e7f8091"];
const HS_SECRET = new TextEncoder().encode("the legacy jwt secret of the project, 32+ bytes");

const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
const jwks = createLocalJWKSet({
  keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }],
});

/** The Auth server stub: verifies HS256 like Auth would, and counts its calls. */
const authCalls: Request[] = [];
async function authServer(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const req = new Request(input, init);
  authCalls.push(req);
  const token = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
  const { jwtVerify } = await import("jose");
  try {
    const { payload } = await jwtVerify(token, HS_SECRET, { algorithms: ["HS256"] });
    return Response.json({ id: payload.sub, role: payload.role });
  } catch {
    return Response.json({ msg: "invalid JWT" }, { status: 403 });
  }
}

const verifier = createCallerVerifier({
  serviceCredentials: [SERVICE_KEY],
  botApiKeys: BOT_KEYS,
  jwksUrl: new URL(`${ISSUER}/.well-known/jwks.json`),
  issuer: ISSUER,
  authUserUrl: new URL(`${ISSUER}/user`),
  authApiKey: "anon-or-service-key",
  timeoutMs: 1000,
  jwks,
  fetch: authServer as typeof fetch,
});

function request(headers: Record<string, string>): Request {
  return new Request("http://functions.test/google-status", { headers });
}

async function callerOf(headers: Record<string, string>): Promise<string> {
  try {
    const caller = await verifier.authenticate(request(headers));
    return caller.kind === "user" ? `user:${caller.userId}` : caller.kind;
  } catch (error) {
    assert.ok(error instanceof AppError, `an AppError, got ${error}`);
    return error.code;
  }
}

const now = Math.floor(Date.now() / 1000);
const userClaims = { role: "authenticated", aal: "aal1" };

async function userToken(
  options: {
    alg?: "ES256" | "HS256";
    key?: CryptoKey | Uint8Array;
    exp?: number | null;
    iss?: string;
    aud?: string;
    role?: string;
    sub?: string;
  } = {},
): Promise<string> {
  const alg = options.alg ?? "ES256";
  const jwt = new SignJWT({ ...userClaims, role: options.role ?? "authenticated" })
    .setProtectedHeader({ alg, typ: "JWT", ...(alg === "ES256" ? { kid: "k1" } : {}) })
    .setIssuer(options.iss ?? ISSUER)
    .setSubject(options.sub ?? USER)
    .setAudience(options.aud ?? "authenticated")
    .setIssuedAt(now - 10);
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? now + 600);
  return await jwt.sign(
    options.key ?? (alg === "ES256" ? privateKey as unknown as CryptoKey : HS_SECRET),
  );
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const enc = (value: unknown) => base64url.encode(JSON.stringify(value));

Deno.test("authenticate(): every bot key is the bot; the service key is the service", async () => {
  assert.equal(await callerOf(bearer(BOT_KEYS[0]!)), "bot");
  assert.equal(await callerOf(bearer(BOT_KEYS[1]!)), "bot", "a second key, to rotate");
  assert.equal(await callerOf(bearer(SERVICE_KEY)), "service");
  assert.equal(await callerOf({ apikey: SERVICE_KEY }), "service");
});

Deno.test("authenticate(): a bot key only as a Bearer, and only exactly", async () => {
  const key = BOT_KEYS[0]!;
  assert.equal(await callerOf({ apikey: key }), "unauthorized", "not as apikey");
  assert.equal(await callerOf({ authorization: `bearer ${key}` }), "unauthorized");
  assert.equal(await callerOf(bearer(key.slice(0, -1))), "unauthorized", "a prefix");
  assert.equal(await callerOf(bearer(`${key}0`)), "unauthorized", "longer");
  assert.equal(await callerOf(bearer(key.toUpperCase())), "unauthorized", "other case");
  assert.equal(await callerOf({ apikey: SERVICE_KEY, ...bearer("garbage") }), "unauthorized");
});

Deno.test("authenticate(): a bot key is nobody when BOT_API_KEYS is not set", async () => {
  const serviceOnly = createCallerVerifier({
    serviceCredentials: [SERVICE_KEY],
    jwksUrl: new URL(`${ISSUER}/.well-known/jwks.json`),
    issuer: ISSUER,
    timeoutMs: 1000,
    jwks,
  });
  await assert.rejects(
    serviceOnly.authenticate(request(bearer(BOT_KEYS[0]!))),
    (e) => e instanceof AppError && e.code === "unauthorized",
  );
  assert.deepEqual(await serviceOnly.authenticate(request(bearer(SERVICE_KEY))), {
    kind: "service",
  });
});

Deno.test("authenticate(): an ES256 user token is verified locally, never at the Auth server", async () => {
  authCalls.length = 0;
  assert.equal(await callerOf(bearer(await userToken())), `user:${USER}`);
  assert.equal(
    await callerOf(bearer(await userToken({ sub: USER.toUpperCase() }))),
    `user:${USER}`,
    "lower-cased",
  );
  assert.equal(authCalls.length, 0);
});

Deno.test("authenticate(): an HS256 user token is verified by the Auth server (legacy JWT secret)", async () => {
  authCalls.length = 0;
  assert.equal(await callerOf(bearer(await userToken({ alg: "HS256" }))), `user:${USER}`);
  assert.equal(authCalls.length, 1);
  assert.equal(authCalls[0]!.url, `${ISSUER}/user`);
  assert.equal(authCalls[0]!.headers.get("apikey"), "anon-or-service-key");
  const forged = await userToken({ alg: "HS256", key: new TextEncoder().encode("x".repeat(40)) });
  assert.equal(await callerOf(bearer(forged)), "unauthorized", "the Auth server said no");
});

Deno.test("authenticate(): a user token without exp is refused, whoever would verify it", async () => {
  authCalls.length = 0;
  assert.equal(await callerOf(bearer(await userToken({ exp: null }))), "unauthorized");
  assert.equal(
    await callerOf(bearer(await userToken({ alg: "HS256", exp: null }))),
    "unauthorized",
  );
  assert.equal(authCalls.length, 0, "refused before asking the Auth server");
});

Deno.test("authenticate(): refuses bad user tokens (moved down from the hostile table)", async () => {
  authCalls.length = 0;
  const stranger = (await generateKeyPair("ES256")).privateKey as unknown as CryptoKey;
  const cases: Record<string, string> = {
    "alg none": `${enc({ alg: "none", typ: "JWT" })}.${
      enc({ ...userClaims, sub: USER, aud: "authenticated", iss: ISSUER, exp: now + 600 })
    }.`,
    "signed by a stranger's EC key": await userToken({ key: stranger }),
    "expired": await userToken({ exp: now - 120 }),
    "HS256, expired": await userToken({ alg: "HS256", exp: now - 120 }),
    "another issuer": await userToken({ iss: "https://evil.example/auth/v1" }),
    "HS256, another issuer": await userToken({ alg: "HS256", iss: "https://evil.example/auth/v1" }),
    "another audience": await userToken({ aud: "anon" }),
    "HS256, role anon": await userToken({ alg: "HS256", role: "anon" }),
    "role service_role": await userToken({ role: "service_role" }),
    "sub not a UUID": await userToken({ sub: "' OR 1=1 --" }),
    "HS512": await new SignJWT(userClaims).setProtectedHeader({ alg: "HS512" }).setSubject(USER)
      .setIssuer(ISSUER).setAudience("authenticated").setExpirationTime(now + 600).sign(HS_SECRET),
    "random": "abc.def.ghi",
    "10 KB": "A".repeat(10_000),
  };
  const wrong: string[] = [];
  for (const [name, token] of Object.entries(cases)) {
    const got = await callerOf(bearer(token));
    if (got !== "unauthorized") wrong.push(`${name}: ${got}`);
  }
  assert.deepEqual(wrong, []);
  assert.equal(authCalls.length, 0, "none of these reached the Auth server");
});

Deno.test("authenticate(): an Auth server that does not answer is not a 401", async () => {
  const down = createCallerVerifier({
    serviceCredentials: [SERVICE_KEY],
    jwksUrl: new URL(`${ISSUER}/.well-known/jwks.json`),
    issuer: ISSUER,
    authUserUrl: new URL(`${ISSUER}/user`),
    authApiKey: "anon-key",
    timeoutMs: 1000,
    jwks,
    fetch: () => Promise.resolve(new Response("down", { status: 502 })),
  });
  await assert.rejects(
    down.authenticate(request(bearer(await userToken({ alg: "HS256" })))),
    (e) => e instanceof AppError && e.status === 503,
  );
});

Deno.test("authenticate(): an HS256 check sends the anon key, never a service key, and follows no redirect", async () => {
  // Finding 4: the service key must not travel with a stranger's token, nor follow a redirect.
  const config = loadConfig({
    ...VALID_ENV,
    SUPABASE_URL: "https://abc.supabase.co",
    SUPABASE_ANON_KEY: "the-anon-key",
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_the_secret_key" }),
  });
  const seen: Request[] = [];
  const auth = callerVerifierFor(config, {
    fetch: ((input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Request(input, init));
      return authServer(input, init);
    }) as typeof fetch,
  });
  const token = await userToken({ alg: "HS256" });
  assert.deepEqual(await auth.authenticate(request(bearer(token))), { kind: "user", userId: USER });
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.headers.get("apikey"), "the-anon-key");
  assert.ok(!config.serviceCredentials.includes(seen[0]!.headers.get("apikey")!));
  assert.equal(seen[0]!.redirect, "error", "a redirect is an error, not followed");

  // Publishable keys (the newer form) serve as well; with neither, HS256 is refused unasked.
  const publishable = loadConfig({
    ...VALID_ENV,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: "sb_publishable_x" }),
  });
  assert.equal(publishable.auth.publicApiKey, "sb_publishable_x");
  seen.length = 0;
  const none = callerVerifierFor(loadConfig(VALID_ENV), {
    fetch: ((input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Request(input, init));
      return authServer(input, init);
    }) as typeof fetch,
  });
  await assert.rejects(
    none.authenticate(request(bearer(token))),
    (e) => e instanceof AppError && e.code === "unauthorized",
  );
  assert.equal(seen.length, 0);
});

Deno.test("authenticate(): an Auth server naming another user for an HS256 token is unauthorized (C3)", async () => {
  const other = "0b7d9c1e-2f3a-4b5c-8d6e-7f8091a2b3c4";
  const liar = createCallerVerifier({
    serviceCredentials: [SERVICE_KEY],
    jwksUrl: new URL(`${ISSUER}/.well-known/jwks.json`),
    issuer: ISSUER,
    authUserUrl: new URL(`${ISSUER}/user`),
    authApiKey: "anon-key",
    timeoutMs: 1000,
    jwks,
    fetch: () => Promise.resolve(Response.json({ id: other, role: "authenticated" })),
  });
  await assert.rejects(
    liar.authenticate(request(bearer(await userToken({ alg: "HS256" })))),
    (e) => e instanceof AppError && e.code === "unauthorized",
  );
});

Deno.test("authenticate(): an HS256 token not valid for an hour (nbf) is refused unasked (X5)", async () => {
  authCalls.length = 0;
  const early = await new SignJWT({ ...userClaims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER).setSubject(USER).setAudience("authenticated")
    .setIssuedAt(now - 10).setNotBefore(now + 3600).setExpirationTime(now + 7200)
    .sign(HS_SECRET);
  assert.equal(await callerOf(bearer(early)), "unauthorized");
  assert.equal(authCalls.length, 0, "refused before asking the Auth server");
});
