/**
 * Issue 14 items 5, 8 and 9 (exp) over HTTP: bot API keys (the functions, not PostgREST, not
 * maintenance), HS256 user tokens of projects on the legacy JWT secret (verified by the Auth
 * server's `GET /auth/v1/user`, which the local stack serves), and user tokens without `exp`.
 */

import assert from "node:assert/strict";
import { importJWK, SignJWT } from "jose";
import { connectedUser, createUser, stack, userToken } from "./support/stack.ts";

const botKey = stack.function_env.BOT_API_KEYS?.split(",")[0];
const jwtSecret = new TextEncoder().encode(stack.jwt_secret);

async function call(
  name: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${stack.functions_url}/${name}`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** A user token as Auth signs it on a legacy-secret project (HS256), or without `exp`. */
async function legacyUserToken(
  userId: string,
  options: { alg?: "HS256" | "ES256"; exp?: boolean; secret?: Uint8Array } = {},
): Promise<string> {
  const alg = options.alg ?? "HS256";
  const now = Math.floor(Date.now() / 1000);
  const jwk = stack.user_signing_jwk!;
  const jwt = new SignJWT({ role: "authenticated", aal: "aal1", session_id: crypto.randomUUID() })
    .setProtectedHeader({ alg, typ: "JWT", ...(alg === "ES256" ? { kid: jwk.kid! } : {}) })
    .setIssuer(`${stack.api_url}/auth/v1`)
    .setSubject(userId)
    .setAudience("authenticated")
    .setIssuedAt(now);
  if (options.exp !== false) jwt.setExpirationTime(now + 600);
  return await jwt.sign(
    alg === "HS256" ? options.secret ?? jwtSecret : await importJWK(jwk, "ES256"),
  );
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

Deno.test("bot API key: the stack has one, distinct from every Supabase key", () => {
  assert.ok(botKey && botKey.length >= 32, "BOT_API_KEYS is set on the local stack");
  assert.notEqual(botKey, stack.service_role_key);
  assert.notEqual(botKey, stack.anon_key);
});

Deno.test("bot API key: calls google-connect, google-status and google-disconnect for any user", async () => {
  const { user } = await connectedUser("bot");
  const connect = await call("google-connect", bearer(botKey!), { user_id: user.id });
  assert.deepEqual(connect.status, 200, JSON.stringify(connect.body));
  assert.ok(typeof connect.body.auth_url === "string");
  const status = await call("google-status", bearer(botKey!), { user_id: user.id });
  assert.deepEqual([status.status, status.body.connected], [200, true]);
  const disconnect = await call("google-disconnect", bearer(botKey!), { user_id: user.id });
  assert.deepEqual(disconnect.status, 200, JSON.stringify(disconnect.body));
  const after = await call("google-status", bearer(botKey!), { user_id: user.id });
  assert.deepEqual(after.body.connected, false);
});

Deno.test("bot API key: must name a user, and only exactly the key works", async () => {
  const user = await createUser("bot-rules");
  const missing = await call("google-status", bearer(botKey!), {});
  assert.deepEqual([missing.status, missing.body.code], [400, "invalid_request"]);
  for (
    const headers of [
      bearer(botKey!.slice(0, -1)),
      bearer(`${botKey}x`),
      { apikey: botKey! },
      { authorization: `bearer ${botKey}` },
    ]
  ) {
    const answer = await call("google-status", headers, { user_id: user.id });
    assert.deepEqual([answer.status, answer.body.code], [401, "unauthorized"]);
  }
});

Deno.test("bot API key: opens nothing in PostgREST and is refused by google-maintenance", async () => {
  for (
    const headers of [
      { apikey: botKey!, ...bearer(botKey!) },
      { apikey: stack.anon_key, ...bearer(botKey!) },
    ]
  ) {
    const res = await fetch(`${stack.rest_url}/google_calendar_tokens?select=user_id`, { headers });
    const text = await res.text();
    assert.ok(res.status === 401 || res.status === 403, `PostgREST answered ${res.status}`);
    assert.ok(!text.includes('"user_id"'), "no rows");
  }
  const maintenance = await fetch(`${stack.functions_url}/google-maintenance`, {
    method: "POST",
    headers: bearer(botKey!),
  });
  await maintenance.body?.cancel();
  assert.deepEqual(maintenance.status, 401, "maintenance is for the service credentials only");
});

Deno.test("service credentials keep working beside the bot keys", async () => {
  const user = await createUser("svc");
  const status = await call("google-status", bearer(stack.service_role_key), { user_id: user.id });
  assert.deepEqual(status.status, 200);
});

Deno.test("HS256 user token (legacy JWT secret): accepted through the Auth server, for its own user", async () => {
  const user = await createUser("hs256");
  const other = await createUser("hs256-other");
  const token = await legacyUserToken(user.id);
  // The local Auth endpoint itself, as the functions call it.
  const auth = await fetch(`${stack.api_url}/auth/v1/user`, {
    headers: { ...bearer(token), apikey: stack.anon_key },
  });
  assert.deepEqual([auth.status, (await auth.json()).id], [200, user.id]);

  const own = await call("google-status", bearer(token));
  assert.deepEqual([own.status, own.body.user_id], [200, user.id], JSON.stringify(own.body));
  const connect = await call("google-connect", bearer(token));
  assert.deepEqual(connect.status, 200, JSON.stringify(connect.body));
  const forOther = await call("google-status", bearer(token), { user_id: other.id });
  assert.deepEqual([forOther.status, forOther.body.code], [403, "forbidden"]);
});

Deno.test("HS256 user token signed with another secret is refused with 401", async () => {
  const user = await createUser("hs256-forged");
  const forged = await legacyUserToken(user.id, {
    secret: new TextEncoder().encode("not the project's secret, but 32+ bytes long"),
  });
  const answer = await call("google-status", bearer(forged));
  assert.deepEqual([answer.status, answer.body.code], [401, "unauthorized"]);
});

Deno.test("a user token without exp gets 401, HS256 or ES256", async () => {
  const user = await createUser("no-exp");
  for (const alg of ["HS256", "ES256"] as const) {
    const answer = await call(
      "google-status",
      bearer(await legacyUserToken(user.id, { alg, exp: false })),
    );
    assert.deepEqual([answer.status, answer.body.code], [401, "unauthorized"], alg);
  }
  // The control: the same user's normal token works.
  const ok = await call("google-status", bearer(await userToken(user.id)));
  assert.deepEqual(ok.status, 200);
});

Deno.test("every error answer carries its code in x-error-code, as the README says", async () => {
  const user = await createUser("x-error-code");
  const cases: [string, RequestInit, string][] = [
    ["google-status", { method: "POST" }, "unauthorized"],
    ["google-status", { method: "PUT", headers: bearer(botKey!) }, "method_not_allowed"],
    [
      "google-connect",
      {
        method: "POST",
        headers: { ...bearer(botKey!), "content-type": "application/json" },
        body: `{"user_id":"${user.id}","user_id":"x"}`,
      },
      "invalid_request",
    ],
    [
      "google-connect",
      {
        method: "POST",
        headers: { ...bearer(botKey!), "content-type": "application/json" },
        body: JSON.stringify({ user_id: crypto.randomUUID() }),
      },
      "user_not_found",
    ],
    [
      "google-disconnect",
      { method: "POST", headers: bearer(await userToken(user.id)), body: "" },
      "forbidden",
    ],
  ];
  for (const [name, init, code] of cases) {
    const url = new URL(`${stack.functions_url}/${name}`);
    if (code === "forbidden") url.searchParams.set("user_id", crypto.randomUUID());
    const res = await fetch(url, init);
    const body = await res.json();
    assert.deepEqual([body.code, res.headers.get("x-error-code")], [code, code], name);
  }
});
