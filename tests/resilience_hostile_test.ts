/**
 * Hostile input (issues 5 and 14), on a private stack: over 60 distinct malicious or malformed
 * requests to google-connect, google-callback and the result page. Each must get the expected 4xx with a
 * stable error code (connect: JSON `code`; callback and result page: `x-error-code`), echo
 * nothing it was sent, inject no header, and leave the database exactly as it was (a fingerprint
 * of the token rows, the pending flows and auth.users before and after every case).
 *
 * Only cases that need HTTP stay here (headers, bodies, methods, the stack's own secrets, the
 * database untouched). Forged states and user tokens, and malformed user ids and emails, are
 * unit tests beside the modules that refuse them: _google_calendar/oauth_state_test.ts,
 * caller_auth_test.ts and request_input_test.ts.
 */

import { base64url, SignJWT } from "jose";
import { ERROR_STATUS } from "../supabase/functions/_google_calendar/errors.ts";
import { STATE_TYP } from "../supabase/functions/_google_calendar/oauth_state.ts";
import assert from "node:assert/strict";
import { lazyPrivateStack, type PrivateStack, type TestUser } from "./support/private_stack.ts";
import { closeSuite } from "./support/resilience_report.ts";

const privateStack = lazyPrivateStack("hostile");
const opts = { sanitizeResources: false, sanitizeOps: false };

interface Case {
  name: string;
  send: () => Promise<Response>;
  status: number;
  code: string;
  /** Something the request carried that must not come back in the answer. */
  marker?: string;
}

const tally: Record<string, { cases: number; rejected: number }> = {};
const failures: string[] = [];
const seen = new Map<string, string>();

/** Runs each case: expected status and code, nothing echoed, no header injected, no DB change. */
async function runCases(s: PrivateStack, group: string, cases: Case[]): Promise<void> {
  const names = new Set(cases.map((c) => c.name));
  assert.deepEqual(names.size, cases.length, "case names are distinct");
  tally[group] = { cases: cases.length, rejected: 0 };
  let before = await s.snapshot();
  for (const c of cases) {
    const problems: string[] = [];
    let res: Response;
    try {
      res = await c.send();
    } catch (error) {
      failures.push(`${group} / ${c.name}: request failed: ${error}`);
      continue;
    }
    const text = await res.text();
    const code = group === "google-connect"
      ? (JSON.parse(text || "{}") as { code?: string }).code
      : res.headers.get("x-error-code");
    if (res.status !== c.status || code !== c.code) {
      problems.push(`got ${res.status} ${code}, expected ${c.status} ${c.code}`);
    }
    if (res.status < 400 || res.status > 499) problems.push("not a 4xx");
    if (res.headers.get("location") !== null) problems.push("redirected");
    if (res.headers.get("set-cookie") !== null || res.headers.get("x-injected") !== null) {
      problems.push("a header was injected");
    }
    if (c.marker && text.includes(c.marker)) problems.push("echoed its input");
    const after = await s.snapshot();
    if (after !== before) problems.push("changed the database");
    before = after;
    if (problems.length) failures.push(`${group} / ${c.name}: ${problems.join("; ")}`);
    else tally[group]!.rejected += 1;
  }
}

interface Context {
  s: PrivateStack;
  user: TestUser;
  other: TestUser;
  userToken: string;
  state: string;
  callbackUrl: URL;
}

let context: Context | null = null;

/** A user with a consented, not yet followed flow: the callback cases tamper with its state. */
async function getContext(): Promise<Context> {
  if (context) return context;
  const s = await privateStack.get();
  const [user, other] = await s.createUsers(2, "hostile");
  const authUrl = await s.connectUrl(user!.id);
  const callbackUrl = await s.consent(authUrl, {
    email: `hostile-${crypto.randomUUID()}@gmail.example`,
  });
  const state = authUrl.searchParams.get("state")!;
  seen.set("state", state);
  seen.set("code", callbackUrl.searchParams.get("code")!);
  context = {
    s,
    user: user!,
    other: other!,
    userToken: await s.userToken(user!.id),
    state,
    callbackUrl,
  };
  return context;
}

function connectCases(ctx: Context): Case[] {
  const { s, user } = ctx;
  const base = `${s.info.functions_url}/google-connect`;
  const service = { authorization: `Bearer ${s.info.service_role_key}` };
  const asJson = { ...service, "content-type": "application/json" };
  const post = (body: BodyInit, headers: Record<string, string> = asJson) => () =>
    fetch(base, { method: "POST", headers, body });
  const get = (query: string, headers: Record<string, string> = service) => () =>
    fetch(`${base}?${query}`, { headers });
  const q = (pairs: [string, string][]) => new URLSearchParams(pairs).toString();
  const asUser = (token: string) => () =>
    fetch(`${base}?${q([["user_id", user.id]])}`, {
      headers: { authorization: `Bearer ${token}` },
    });
  const unauthorized = { status: 401, code: "unauthorized" };
  const invalid = { status: 400, code: "invalid_request" };
  const tooLarge = { status: 413, code: "payload_too_large" };
  const mediaType = { status: 415, code: "unsupported_media_type" };
  const method = { status: 405, code: "method_not_allowed" };
  const now = Math.floor(Date.now() / 1000);
  const userClaims = { role: "authenticated", aal: "aal1" };
  const signUser = async (
    alg: string,
    key: CryptoKey | Uint8Array,
    exp: number | null = now + 600,
  ) => {
    const jwt = new SignJWT(userClaims).setProtectedHeader({ alg, typ: "JWT" })
      .setIssuer(`${s.info.api_url}/auth/v1`).setSubject(user.id).setAudience("authenticated")
      .setIssuedAt(now - 10);
    if (exp !== null) jwt.setExpirationTime(exp);
    return await jwt.sign(key);
  };
  const jwtSecret = new TextEncoder().encode(s.info.jwt_secret);
  const botKey = s.info.function_env.BOT_API_KEYS!.split(",")[0]!;
  const asBot = { authorization: `Bearer ${botKey}` };

  const bodyOf = (value: unknown) => JSON.stringify({ user_id: value });
  const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
  const huge = "x".repeat(1024 * 1024);

  return [
    {
      name: "no credentials",
      send: () => fetch(`${base}?${q([["user_id", user.id]])}`),
      ...unauthorized,
    },
    {
      name: "random bearer",
      send: get(q([["user_id", user.id]]), { authorization: "Bearer abc.def.ghi" }),
      ...unauthorized,
    },
    {
      name: "anon key as bearer",
      send: get(q([["user_id", user.id]]), { authorization: `Bearer ${s.info.anon_key}` }),
      ...unauthorized,
    },
    {
      name: "lowercase bearer scheme",
      send: get(q([["user_id", user.id]]), { authorization: `bearer ${s.info.service_role_key}` }),
      ...unauthorized,
    },
    {
      name: "service key as apikey beside a garbage bearer",
      send: get(q([["user_id", user.id]]), {
        apikey: s.info.service_role_key,
        authorization: "Bearer garbage",
      }),
      ...unauthorized,
    },
    {
      name: "10 KB authorization header",
      send: get(q([["user_id", user.id]]), { authorization: `Bearer ${"A".repeat(10_000)}` }),
      ...unauthorized,
    },
    {
      name: "signed-in user acting for another user",
      send: () =>
        fetch(`${base}?${q([["user_id", ctx.other.id]])}`, {
          headers: { authorization: `Bearer ${ctx.userToken}` },
        }),
      status: 403,
      code: "forbidden",
    },
    { name: "UUID with a NUL byte", send: get(`user_id=${user.id}%00`), ...invalid },
    {
      name: "header injection in user_id",
      send: get(q([["user_id", `${user.id}\r\nSet-Cookie: owned=1\r\nX-Injected: 1`]])),
      ...invalid,
      marker: "owned=1",
    },
    {
      name: "header injection in login_hint",
      send: post(JSON.stringify({ user_id: user.id, login_hint: "a@b.example\r\nX-Injected: 1" })),
      ...invalid,
      marker: "X-Injected",
    },
    {
      name: "user_id twice in the query",
      send: get(q([["user_id", user.id], ["user_id", ctx.other.id]])),
      ...invalid,
    },
    {
      name: "user_id in the query and the body",
      send: () =>
        fetch(`${base}?${q([["user_id", user.id]])}`, {
          method: "POST",
          headers: asJson,
          body: bodyOf(user.id),
        }),
      ...invalid,
    },
    {
      name: "unknown query parameter",
      send: get(q([["user_id", user.id], ["redirect_uri", "https://evil.example"]])),
      ...invalid,
      marker: "evil.example",
    },
    {
      name: "unknown body field",
      send: post(JSON.stringify({ user_id: user.id, role: "service_role" })),
      ...invalid,
    },
    {
      name: "__proto__ field",
      send: post(`{"user_id":"${user.id}","__proto__":{"admin":true}}`),
      ...invalid,
    },
    { name: "user_id as a number", send: post(bodyOf(12345)), ...invalid },
    { name: "user_id as an array", send: post(bodyOf([user.id])), ...invalid },
    { name: "user_id as an object", send: post(bodyOf({ $ne: null })), ...invalid },
    { name: "user_id null", send: post(bodyOf(null)), ...invalid },
    { name: "empty user_id", send: get("user_id="), ...invalid },
    { name: "invalid percent-encoding in the query", send: get("user_id=%ZZ%E0%A4"), ...invalid },
    {
      name: "deeply nested JSON within the size limit",
      send: post(`{"user_id":${nested(1500)}}`),
      ...invalid,
    },
    {
      name: "deeply nested JSON beyond the size limit",
      send: post(`{"user_id":${nested(100_000)}}`),
      ...tooLarge,
    },
    {
      name: "1 MB JSON body",
      send: post(JSON.stringify({ user_id: user.id, pad: huge })),
      ...tooLarge,
    },
    {
      name: "1 MB body streamed without content-length",
      send: () => {
        const chunk = new TextEncoder().encode(`{"user_id":"${"x".repeat(16 * 1024)}`);
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent++ >= 64) return controller.close();
            controller.enqueue(chunk);
          },
        });
        return fetch(
          base,
          { method: "POST", headers: asJson, body, duplex: "half" } as RequestInit,
        );
      },
      ...tooLarge,
    },
    { name: "JSON array body", send: post(JSON.stringify([{ user_id: user.id }])), ...invalid },
    { name: "JSON string body", send: post(JSON.stringify(user.id)), ...invalid },
    { name: "invalid JSON", send: post(`{"user_id": "${user.id}",}`), ...invalid },
    {
      name: "invalid UTF-8 in the body",
      send: post(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])),
      ...invalid,
    },
    // (A byte-order mark before the JSON is accepted: RFC 8259 lets parsers ignore it.)
    {
      name: "JSON with a comment",
      send: post(`{"user_id": "${user.id}" /* , "admin": true */}`),
      ...invalid,
    },
    {
      name: "text/plain body",
      send: post(bodyOf(user.id), { ...service, "content-type": "text/plain" }),
      ...mediaType,
    },
    {
      name: "form-encoded body",
      send: post(q([["user_id", user.id]]), {
        ...service,
        "content-type": "application/x-www-form-urlencoded",
      }),
      ...mediaType,
    },
    {
      name: "multipart body",
      send: () => {
        const form = new FormData();
        form.set("user_id", user.id);
        return fetch(base, { method: "POST", headers: service, body: form });
      },
      ...mediaType,
    },
    {
      name: "JSON body labelled application/json-patch+json",
      send: post(bodyOf(user.id), { ...service, "content-type": "application/json-patch+json" }),
      ...mediaType,
    },
    {
      name: "PUT",
      send: () => fetch(base, { method: "PUT", headers: asJson, body: bodyOf(user.id) }),
      ...method,
    },
    {
      name: "DELETE",
      send: () =>
        fetch(`${base}?${q([["user_id", user.id]])}`, { method: "DELETE", headers: service }),
      ...method,
    },
    {
      name: "PATCH",
      send: () => fetch(base, { method: "PATCH", headers: asJson, body: bodyOf(user.id) }),
      ...method,
    },
    {
      name: "OPTIONS",
      send: () => fetch(base, { method: "OPTIONS", headers: service }),
      ...method,
    },
    {
      name: "16 KB URL",
      send: get(q([["user_id", user.id], ["pad", "p".repeat(16 * 1024)]])),
      ...invalid,
    },
    // Issue 14: repeated JSON keys, bot keys, HS256 user tokens (verified by the Auth server).
    {
      name: "user_id twice in the JSON body, the valid one last",
      send: post(`{"user_id":"x","user_id":"${user.id}"}`),
      ...invalid,
    },
    {
      name: "user_id twice in the JSON body, the valid one first",
      send: post(`{"user_id":"${user.id}","user_id":"x"}`),
      ...invalid,
    },
    {
      name: "user_id twice in the JSON body, once escaped",
      send: post(`{"user_id":"${user.id}","user\\u005fid":"${ctx.other.id}"}`),
      ...invalid,
    },
    {
      name: "expected_google_email with header injection",
      send: post(
        JSON.stringify({ user_id: user.id, expected_google_email: "a@b.example\r\nX-Injected: 1" }),
      ),
      ...invalid,
      marker: "X-Injected",
    },
    {
      name: "expected_google_email twice in the query",
      send: get(q([["user_id", user.id], ["expected_google_email", "a@b.example"], [
        "expected_google_email",
        "c@d.example",
      ]])),
      ...invalid,
    },
    {
      name: "HS256 user token signed with another secret",
      send: async () =>
        asUser(
          await signUser("HS256", new TextEncoder().encode("x".repeat(16) + "y".repeat(24))),
        )(),
      ...unauthorized,
    },
    {
      name: "HS256 user token without exp, right secret",
      send: async () => asUser(await signUser("HS256", jwtSecret, null))(),
      ...unauthorized,
    },
    {
      name: "HS256 user token expired, right secret",
      send: async () => asUser(await signUser("HS256", jwtSecret, now - 120))(),
      ...unauthorized,
    },
    {
      name: "bot key as apikey",
      send: get(q([["user_id", user.id]]), { apikey: botKey }),
      ...unauthorized,
    },
    {
      name: "bot key with a lowercase scheme",
      send: get(q([["user_id", user.id]]), { authorization: `bearer ${botKey}` }),
      ...unauthorized,
    },
    {
      name: "bot key missing its last character",
      send: get(q([["user_id", user.id]]), { authorization: `Bearer ${botKey.slice(0, -1)}` }),
      ...unauthorized,
    },
    { name: "bot key without a user_id", send: get("", asBot), ...invalid },
    {
      name: "unknown but well-formed user",
      send: post(bodyOf(crypto.randomUUID())),
      status: 404,
      code: "user_not_found",
    },
  ];
}

function callbackCases(ctx: Context): Case[] {
  const { s, state, callbackUrl } = ctx;
  const config = s.config;
  const base = s.info.google_redirect_uri;
  const payload = state.split(".")[1]!;
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
  const withState = (...states: string[]) => () => {
    const url = new URL(callbackUrl);
    url.searchParams.delete("state");
    for (const st of states) url.searchParams.append("state", st);
    return fetch(url, { redirect: "manual" });
  };
  const raw = (query: string, init: RequestInit = {}) => () =>
    fetch(`${base}?${query}`, { redirect: "manual", ...init });
  // Signed with the right secret: these cases are about what the callback does with its claims.
  const sign = async (extra: Record<string, unknown>) =>
    await new SignJWT({ ...claims, ...extra }).setProtectedHeader({ alg: "HS256", typ: STATE_TYP })
      .sign(config.state.secret);
  const invalid = { status: 400, code: "state_invalid" };
  const method = { status: 405, code: "method_not_allowed" };

  const cases: Case[] = [
    { name: "no parameters", send: raw(""), ...invalid },
    {
      name: "code without state",
      send: raw(`code=${callbackUrl.searchParams.get("code")}`),
      ...invalid,
    },
    { name: "empty state", send: withState(""), ...invalid },
    { name: "state given twice", send: withState(state, state), ...invalid },
    {
      name: "code given twice",
      send: () => {
        const url = new URL(callbackUrl);
        url.searchParams.append("code", url.searchParams.get("code")!);
        return fetch(url, { redirect: "manual" });
      },
      status: 400,
      code: "invalid_request",
    },
    {
      name: "iss given twice",
      send: () => {
        const url = new URL(callbackUrl);
        url.searchParams.append("iss", url.searchParams.get("iss") ?? "https://evil.example");
        return fetch(url, { redirect: "manual" });
      },
      status: 400,
      code: "invalid_request",
    },
    {
      name: "a state naming the user (sub), as older links did, right secret",
      send: async () => withState(await sign({ sub: ctx.user.id }))(),
      ...invalid,
    },
    {
      name: "no user binding, right secret",
      send: async () => withState(await sign({ ubd: undefined }))(),
      ...invalid,
    },
    {
      name: "re-signed with the Supabase JWT secret",
      send: async () =>
        withState(
          await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: STATE_TYP })
            .sign(new TextEncoder().encode(s.info.jwt_secret)),
        )(),
      ...invalid,
    },
    {
      name: "header injection in state",
      send: withState(`${state}\r\nLocation: https://evil.example\r\nX-Injected: 1`),
      ...invalid,
      marker: "evil.example",
    },
    { name: "SQL-looking state", send: withState("' OR '1'='1"), ...invalid, marker: "OR '1'" },
    {
      name: "URL over 8 KB",
      send: () => {
        const url = new URL(callbackUrl);
        url.searchParams.set("pad", "p".repeat(9000));
        return fetch(url, { redirect: "manual" });
      },
      status: 400,
      code: "invalid_request",
    },
    {
      name: "POST",
      send: () => fetch(callbackUrl, { method: "POST", redirect: "manual" }),
      ...method,
    },
    {
      name: "PUT",
      send: () => fetch(callbackUrl, { method: "PUT", redirect: "manual" }),
      ...method,
    },
    {
      name: "DELETE",
      send: () => fetch(callbackUrl, { method: "DELETE", redirect: "manual" }),
      ...method,
    },
  ];
  return cases;
}

function resultPageCases(s: PrivateStack): Case[] {
  const base = `${s.info.api_url}/google-calendar/result`;
  const get = (query: string, init: RequestInit = {}) => () => fetch(`${base}?${query}`, init);
  const q = (pairs: [string, string][]) => new URLSearchParams(pairs).toString();
  const invalid = { status: 400, code: "invalid_request" };
  return [
    { name: "no parameters", send: get(""), ...invalid },
    { name: "unknown result", send: get("result=pwned"), ...invalid, marker: "pwned" },
    {
      name: "script in result",
      send: get(q([["result", "<script>alert(1)</script>"]])),
      ...invalid,
      marker: "<script>",
    },
    {
      name: "script in reason",
      send: get(q([["result", "error"], ["reason", "<img src=x onerror=alert(1)>"]])),
      ...invalid,
      marker: "onerror",
    },
    {
      name: "header injection in reason",
      send: get(q([["result", "error"], ["reason", "x\r\nSet-Cookie: owned=1"]])),
      ...invalid,
      marker: "owned=1",
    },
    { name: "result twice", send: get("result=connected&result=error"), ...invalid },
    {
      name: "reason twice",
      send: get("result=error&reason=google_error&reason=internal_error"),
      ...invalid,
    },
    {
      name: "unknown parameter",
      send: get("result=connected&next=https://evil.example"),
      ...invalid,
      marker: "evil.example",
    },
    {
      name: "unknown reason code",
      send: get("result=error&reason=drop_table_users"),
      ...invalid,
      marker: "drop_table",
    },
    {
      name: "unicode and control characters in result",
      send: get(q([["result", "connected\u0000\u202e"]])),
      ...invalid,
    },
    { name: "result in another case", send: get("result=CONNECTED"), ...invalid },
    { name: "result with trailing space", send: get("result=connected%20"), ...invalid },
    { name: "4 KB URL", send: get(`result=connected&reason=${"a".repeat(4096)}`), ...invalid },
    {
      name: "POST",
      send: () => fetch(`${base}?result=connected`, { method: "POST" }),
      status: 405,
      code: "method_not_allowed",
    },
  ];
}

Deno.test({
  name:
    "hostile input: google-connect refuses every malformed or malicious request, changing nothing",
  ...opts,
  async fn() {
    const ctx = await getContext();
    await runCases(ctx.s, "google-connect", connectCases(ctx));
    assert.deepEqual(failures.filter((f) => f.startsWith("google-connect")), []);
  },
});

Deno.test({
  name: "hostile input: google-callback refuses every unverified state with 400 and no redirect",
  ...opts,
  async fn() {
    const ctx = await getContext();
    await runCases(ctx.s, "google-callback", callbackCases(ctx));
    assert.deepEqual(failures.filter((f) => f.startsWith("google-callback")), []);
    // Control: the flow every case tampered with is intact, so each refusal was for the
    // tampering alone; the untouched link still connects.
    const answer = await ctx.s.callback(ctx.callbackUrl);
    assert.deepEqual(
      [answer.status, answer.result],
      [303, "connected"],
      "the real link still works",
    );
    const row = (await ctx.s.decryptedRow(ctx.user.id))!;
    seen.set("access token", row.accessToken);
    seen.set("refresh token", row.refreshToken);
  },
});

Deno.test({
  name: "hostile input: the result page shows only the callback's addresses and echoes nothing",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await runCases(s, "result page", resultPageCases(s));
    assert.deepEqual(failures.filter((f) => f.startsWith("result page")), []);
    // Control: every address the callback produces is still shown, with 200.
    for (const result of ["connected", "denied", "partial", "expired", "error"]) {
      for (const reason of [null, ...Object.keys(ERROR_STATUS)]) {
        const url = new URL(`${s.info.api_url}/google-calendar/result`);
        url.searchParams.set("result", result);
        if (reason) url.searchParams.set("reason", reason);
        const res = await fetch(url);
        await res.body?.cancel();
        assert.deepEqual(res.status, 200, `${url.search}`);
      }
    }
  },
});

Deno.test({
  name: "hostile input: figures recorded; no state, code or secret in any function's output",
  ...opts,
  fn: () =>
    closeSuite("hostile", privateStack, {
      seen,
      figures: {},
      complete(f) {
        f.hostile_cases = Object.values(tally).reduce((n, t) => n + t.cases, 0);
        f.hostile_rejected = Object.values(tally).reduce((n, t) => n + t.rejected, 0);
        f.per_target = tally;
        f.not_rejected_as_expected = failures;
        f.database_changed_by_a_case = failures.filter((x) => x.includes("changed the database"))
          .length;
      },
      // What the suite promises, checked here so that no other file has to run after this one.
      check(f) {
        assert.ok(Number(f.hostile_cases) >= 60, `at least 60 distinct cases (${f.hostile_cases})`);
        assert.equal(f.hostile_rejected, f.hostile_cases, "every hostile input rejected");
      },
    }),
});
