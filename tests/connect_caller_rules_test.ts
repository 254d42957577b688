/**
 * google-connect's caller rules: who may ask for whose link, and how strictly the request is read.
 * Every refusal is a JSON `{ code, message }` with the security headers, and starts no flow.
 */

import assert from "node:assert/strict";
import { pendingFlowCount, rawConnect, stateClaims } from "./support/flows.ts";
import { createUser, sql, stack, type TestUser, userToken } from "./support/stack.ts";

type Request = Parameters<typeof rawConnect>[0];

const service = () => ({ authorization: `Bearer ${stack.service_role_key}` });
const asJson = (headers: Record<string, string>) => ({
  ...headers,
  "content-type": "application/json",
});

/** Sends `request` and expects the error `code` with `status`; `user` gets no pending flow. */
async function refuses(
  user: TestUser,
  request: Request,
  expected: { status: number; code: string },
): Promise<Headers> {
  const before = await pendingFlowCount(user.id);
  const answer = await rawConnect(request);
  assert.deepEqual({ status: answer.status, code: answer.body.code }, expected);
  assert(typeof answer.body.message === "string" && answer.body.message, "a message");
  assert.deepEqual(answer.headers.get("cache-control"), "no-store");
  assert.deepEqual(answer.headers.get("referrer-policy"), "no-referrer");
  assert(
    (answer.headers.get("content-type") ?? "").startsWith("application/json"),
    "JSON content type",
  );
  assert.deepEqual(await pendingFlowCount(user.id), before, "no flow started");
  return answer.headers;
}

/** `request` gets a link, whose flow is now the user's one pending flow (older ones void). */
async function allows(user: TestUser, request: Request): Promise<void> {
  const answer = await rawConnect(request);
  assert.deepEqual(answer.status, 200, JSON.stringify(answer.body));
  assert(typeof answer.body.auth_url === "string", "an auth_url");
  const state = new URL(answer.body.auth_url).searchParams.get("state")!;
  const [owner] = await sql(
    "select user_id from public.google_oauth_pending_flows where jti = :'jti'",
    { jti: stateClaims(state).jti },
  );
  assert.deepEqual(owner, user.id, "the link's flow is pending, for this user");
  assert.deepEqual(await pendingFlowCount(user.id), 1, "only the newest link is pending");
}

const unauthorized = { status: 401, code: "unauthorized" };
const invalid = { status: 400, code: "invalid_request" };

Deno.test("google-connect: refuses an unknown user with 404 user_not_found", async () => {
  const ghost = { id: crypto.randomUUID(), email: "ghost@example.com" };
  await refuses(ghost, { query: [["user_id", ghost.id]], headers: service() }, {
    status: 404,
    code: "user_not_found",
  });
});

Deno.test("google-connect: refuses callers without valid credentials", async () => {
  const user = await createUser("creds");
  const query: [string, string][] = [["user_id", user.id]];
  await refuses(user, { query }, unauthorized);
  await refuses(
    user,
    { query, headers: { authorization: `Bearer ${stack.anon_key}` } },
    unauthorized,
  );
  await refuses(user, { query, headers: { apikey: stack.anon_key } }, unauthorized);
  const wrongKey = stack.service_role_key.slice(0, -6) + "AAAAAA";
  await refuses(user, { query, headers: { authorization: `Bearer ${wrongKey}` } }, unauthorized);
  await refuses(
    user,
    { query, headers: { authorization: "Basic c2VydmljZTprZXk=" } },
    unauthorized,
  );
  // The control: the real service key works with the same request.
  await allows(user, { query, headers: service() });
});

Deno.test("google-connect: refuses a user asking for another user's link", async () => {
  const a = await createUser("a");
  const b = await createUser("b");
  const headers = { authorization: `Bearer ${await userToken(a.id)}` };
  await refuses(b, { query: [["user_id", b.id]], headers }, { status: 403, code: "forbidden" });
  await refuses(a, { query: [["user_id", b.id]], headers }, { status: 403, code: "forbidden" });
});

Deno.test("google-connect: a signed-in user gets their own link with or without user_id", async () => {
  const a = await createUser("self");
  const headers = { authorization: `Bearer ${await userToken(a.id)}` };
  await allows(a, { headers });
  await allows(a, { query: [["user_id", a.id.toUpperCase()]], headers });
  await allows(a, { body: "{}", headers: asJson(headers) });
});

Deno.test("google-connect: refuses expired user tokens and tokens for another issuer or audience", async () => {
  const a = await createUser("tokens");
  for (
    const token of [
      await userToken(a.id, { ttlSeconds: -3600 }),
      await userToken(a.id, { issuer: "https://evil.example/auth/v1" }),
      await userToken(a.id, { audience: "anon" }),
      await userToken(a.id, { role: "anon" }),
    ]
  ) {
    await refuses(a, { headers: { authorization: `Bearer ${token}` } }, unauthorized);
  }
});

Deno.test("google-connect: refuses a malformed, missing or repeated user_id", async () => {
  const user = await createUser("params");
  const headers = service();
  await refuses(user, { query: [["user_id", "not-a-uuid"]], headers }, invalid);
  await refuses(user, { query: [["user_id", `${user.id}'--`]], headers }, invalid);
  await refuses(user, { headers }, invalid);
  await refuses(user, { query: [["user_id", user.id], ["user_id", user.id]], headers }, invalid);
  await refuses(user, {
    query: [["user_id", user.id]],
    headers: asJson(headers),
    body: JSON.stringify({ user_id: user.id }),
  }, invalid);
  await refuses(user, { query: [["user_id", user.id], ["extra", "1"]], headers }, invalid);
  await refuses(user, {
    headers: asJson(headers),
    body: JSON.stringify({ user_id: 42 }),
  }, invalid);
});

Deno.test("google-connect: refuses bodies that are too large, not JSON, or not a JSON object", async () => {
  const user = await createUser("body");
  const headers = asJson(service());
  await refuses(user, {
    headers,
    body: JSON.stringify({ user_id: user.id, login_hint: `${"a".repeat(5000)}@example.com` }),
  }, { status: 413, code: "payload_too_large" });
  // Streamed, so no content-length announces the size: the limit holds while reading.
  const big = new TextEncoder().encode(JSON.stringify({ user_id: user.id, pad: "x".repeat(8000) }));
  await refuses(
    user,
    { headers, body: ReadableStream.from([big.slice(0, 4000), big.slice(4000)]) },
    {
      status: 413,
      code: "payload_too_large",
    },
  );
  await refuses(user, { headers, body: `{"user_id": "${user.id}"` }, invalid);
  await refuses(user, { headers, body: JSON.stringify([{ user_id: user.id }]) }, invalid);
  await refuses(
    user,
    { headers, body: JSON.stringify({ user_id: user.id, admin: true }) },
    invalid,
  );
  await refuses(user, {
    headers: { ...service(), "content-type": "text/plain" },
    body: JSON.stringify({ user_id: user.id }),
  }, { status: 415, code: "unsupported_media_type" });
  // The control: the same body as JSON works.
  await allows(user, { headers, body: JSON.stringify({ user_id: user.id }) });
});

Deno.test("google-connect: refuses PUT and DELETE with 405 and an Allow header", async () => {
  const user = await createUser("methods");
  for (const method of ["PUT", "DELETE", "PATCH"]) {
    const headers = await refuses(user, {
      method,
      query: [["user_id", user.id]],
      headers: service(),
    }, { status: 405, code: "method_not_allowed" });
    assert.deepEqual(headers.get("allow"), "GET, POST");
  }
});

Deno.test("google-connect: refuses a login_hint that is not a plain email address", async () => {
  const user = await createUser("hint");
  const headers = asJson(service());
  for (
    const hint of [
      "someone@example.com\nX-Injected: 1",
      "<script>alert(1)</script>@example.com",
      '"><img src=x>@example.com',
      "not an email",
    ]
  ) {
    await refuses(
      user,
      { headers, body: JSON.stringify({ user_id: user.id, login_hint: hint }) },
      invalid,
    );
  }
  await allows(user, {
    headers,
    body: JSON.stringify({ user_id: user.id, login_hint: "someone@example.com" }),
  });
});
