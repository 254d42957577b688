/**
 * Reading a caller's request, without a stack: handlers' Requests built in the test. Cases moved
 * down from the HTTP hostile table (malformed user ids and emails), plus repeated JSON keys.
 */

import assert from "node:assert/strict";
import type { Caller, CallerVerifier } from "./caller_auth.ts";
import { AppError } from "./errors.ts";
import {
  checkEmailParam,
  readParams,
  readUserRequest,
  repeatedJsonKey,
  resolveUserId,
} from "./request_input.ts";

const USER = "6f1c2b7e-5d4a-4c3b-9a8f-0e1d2c3b4a59";
const URL_BASE = "http://functions.test/google-connect";

function post(body: string, type = "application/json"): Request {
  return new Request(URL_BASE, { method: "POST", headers: { "content-type": type }, body });
}

async function codeOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof AppError, `an AppError, got ${error}`);
    return error.code;
  }
  return "accepted";
}

const ALLOWED = ["user_id", "login_hint", "expected_google_email"];

Deno.test("readParams() refuses a JSON body with a key given twice, in either order", async () => {
  const other = "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d";
  for (
    const body of [
      `{"user_id":"${USER}","user_id":"x"}`,
      `{"user_id":"x","user_id":"${USER}"}`,
      `{"user_id":"${USER}","user_id":"${other}"}`,
      `{"user_id":"${USER}","user\\u005fid":"${other}"}`,
      `{"login_hint":"a@b.example","user_id":"${USER}","login_hint":"c@d.example"}`,
    ]
  ) {
    assert.equal(await codeOf(() => readParams(post(body), ALLOWED)), "invalid_request", body);
  }
  // The control: the same fields once each are read.
  const params = await readParams(
    post(`{"user_id":"${USER}","login_hint":"a@b.example"}`),
    ALLOWED,
  );
  assert.equal(params.get("user_id"), USER);
});

Deno.test("repeatedJsonKey() finds equal keys per object, not across objects or in values", () => {
  assert.equal(repeatedJsonKey(`{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}`), null);
  assert.equal(repeatedJsonKey(`{"a":"a","b":"\\"a\\":"}`), null);
  assert.equal(repeatedJsonKey(`{"a":1,"b":{"x":1,"x":2}}`), "x");
  assert.equal(repeatedJsonKey(`{ "a" : 1 , "a" : 2 }`), "a");
  assert.equal(repeatedJsonKey(`{"a\\"b":1,"a\\"b":2}`), 'a"b');
  assert.equal(repeatedJsonKey(`{"a":[1,{"b":2}],"a":3}`), "a");
});

Deno.test("readParams() refuses repeated, unknown, non-string and both-places parameters", async () => {
  const get = (query: string) => new Request(`${URL_BASE}?${query}`);
  const cases: [string, () => Promise<unknown>][] = [
    [
      "user_id twice in the query",
      () => readParams(get(`user_id=${USER}&user_id=${USER}`), ALLOWED),
    ],
    ["unknown parameter", () => readParams(get(`user_id=${USER}&extra=1`), ALLOWED)],
    ["unknown field", () => readParams(post(`{"extra":"1"}`), ALLOWED)],
    ["number", () => readParams(post(`{"user_id":1}`), ALLOWED)],
    ["null", () => readParams(post(`{"user_id":null}`), ALLOWED)],
    ["array body", () => readParams(post(`["${USER}"]`), ALLOWED)],
    ["not JSON", () => readParams(post(`{"user_id":`), ALLOWED)],
    ["deeply nested", () => readParams(post("[".repeat(500) + "]".repeat(500)), ALLOWED)],
    [
      "query and body",
      () =>
        readParams(
          new Request(`${URL_BASE}?user_id=${USER}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: `{"user_id":"${USER}"}`,
          }),
          ALLOWED,
        ),
    ],
  ];
  for (const [name, run] of cases) assert.equal(await codeOf(run), "invalid_request", name);
  assert.equal(
    await codeOf(() => readParams(post(`{"user_id":"${USER}"}`, "text/plain"), ALLOWED)),
    "unsupported_media_type",
  );
  assert.equal(
    await codeOf(() => readParams(post(JSON.stringify({ user_id: "x".repeat(5000) })), ALLOWED)),
    "payload_too_large",
  );
});

Deno.test("resolveUserId() refuses malformed user ids and lower-cases a valid one", async () => {
  const bot: Caller = { kind: "bot" };
  const bad = [
    "abc",
    "' OR 1=1 --",
    `${USER}'; drop table auth.users; --`,
    `${USER}\n`,
    `${USER}\u0000`,
    `${USER.slice(0, 8)}\u200b${USER.slice(8)}`,
    USER.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d))),
    "../../../etc/passwd",
    `${USER}\r\nSet-Cookie: owned=1`,
  ];
  for (const value of bad) {
    assert.equal(await codeOf(() => resolveUserId(bot, value)), "invalid_request", value);
  }
  assert.equal(resolveUserId(bot, USER.toUpperCase()), USER);
  assert.equal(resolveUserId({ kind: "service" }, USER.toUpperCase()), USER);
});

Deno.test("resolveUserId(): the bot and the service name any user; a user only themself", async () => {
  for (const kind of ["bot", "service"] as const) {
    assert.equal(await codeOf(() => resolveUserId({ kind }, undefined)), "invalid_request");
  }
  const user: Caller = { kind: "user", userId: USER };
  assert.equal(resolveUserId(user, undefined), USER);
  assert.equal(resolveUserId(user, USER.toUpperCase()), USER);
  assert.equal(
    await codeOf(() => resolveUserId(user, "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d")),
    "forbidden",
  );
});

Deno.test("checkEmailParam() takes a plain address and refuses markup, controls and unicode", async () => {
  assert.equal(checkEmailParam("expected_google_email", "Ada@Example.com"), "Ada@Example.com");
  assert.equal(checkEmailParam("login_hint", ""), undefined);
  for (
    const value of [
      "a@b.example\r\nX-Injected: 1",
      "<script>alert(1)</script>@x.example",
      "ädä@exämple.com",
      `${"a".repeat(60)}@${"b".repeat(300)}.example`,
      "not an email",
    ]
  ) {
    assert.equal(
      await codeOf(() => checkEmailParam("expected_google_email", value)),
      "invalid_request",
    );
  }
});

Deno.test("readUserRequest() authenticates before reading anything", async () => {
  let read = false;
  const callers: CallerVerifier = {
    authenticate() {
      return Promise.reject(new AppError("unauthorized", "no"));
    },
  };
  const body = new ReadableStream({
    pull() {
      read = true;
    },
  }, { highWaterMark: 0 });
  const req = new Request(URL_BASE, { method: "POST", body, duplex: "half" } as RequestInit);
  assert.equal(
    await codeOf(() => readUserRequest(req, callers, { methods: ["POST"], params: [] })),
    "unauthorized",
  );
  assert.equal(read, false, "the body was not read");
});
