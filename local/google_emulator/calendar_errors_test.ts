import assert from "node:assert/strict";
import {
  calendarError,
  calendarErrorResponse,
  INJECTABLE_CALENDAR_ERRORS,
} from "./calendar_errors.ts";

Deno.test("calendarError() builds the Calendar guide's usage-limit errors with status and ErrorInfo", () => {
  const cases = [
    ["rateLimitExceeded", 403, "PERMISSION_DENIED", "Rate Limit Exceeded", "RATE_LIMIT_EXCEEDED"],
    [
      "userRateLimitExceeded",
      403,
      "PERMISSION_DENIED",
      "User Rate Limit Exceeded",
      "RATE_LIMIT_EXCEEDED",
    ],
    ["quotaExceeded", 403, "PERMISSION_DENIED", "Calendar usage limits exceeded.", undefined],
    ["429", 429, "RESOURCE_EXHAUSTED", "Rate Limit Exceeded", "RATE_LIMIT_EXCEEDED"],
  ] as const;
  for (const [kind, code, status, message, info] of cases) {
    const { status: http, body } = calendarError(kind);
    assert.equal(http, code, kind);
    assert.equal(body.error.code, code);
    assert.equal(body.error.status, status);
    assert.equal(body.error.message, message);
    const [item] = body.error.errors;
    assert.equal(item?.domain, "usageLimits");
    assert.equal(item?.reason, kind === "429" ? "rateLimitExceeded" : kind);
    assert.equal(body.error.details?.[0]?.reason, info);
  }
});

Deno.test("calendarError() marks a disabled API with accessNotConfigured and SERVICE_DISABLED", () => {
  const { status, body } = calendarError("accessNotConfigured");
  assert.equal(status, 403);
  assert.equal(body.error.errors[0]?.reason, "accessNotConfigured");
  const info = body.error.details?.find((d) => d["@type"].endsWith("google.rpc.ErrorInfo"));
  assert.equal(info?.reason, "SERVICE_DISABLED");
  assert.equal(info?.domain, "googleapis.com");
  assert.deepEqual(
    (info?.metadata as Record<string, string>).service,
    "calendar-json.googleapis.com",
  );
  assert.match(body.error.message, /has not been used in project \d+ before or it is disabled/);
});

Deno.test("calendarError() marks missing scopes with insufficientPermissions and a WWW-Authenticate", () => {
  const { status, body, headers } = calendarError("insufficientPermissions");
  assert.equal(status, 403);
  assert.equal(body.error.errors[0]?.reason, "insufficientPermissions");
  assert.equal(body.error.details?.[0]?.reason, "ACCESS_TOKEN_SCOPE_INSUFFICIENT");
  assert.match(headers["www-authenticate"] ?? "", /error="insufficient_scope"/);
});

Deno.test("calendarError() answers a dead token with 401 authError and error=invalid_token", () => {
  const { status, body, headers } = calendarError("authError");
  assert.equal(status, 401);
  assert.equal(body.error.status, "UNAUTHENTICATED");
  assert.deepEqual(body.error.errors[0], {
    domain: "global",
    reason: "authError",
    message: "Invalid Credentials",
    locationType: "header",
    location: "Authorization",
  });
  assert.match(
    headers["www-authenticate"] ?? "",
    /^Bearer realm="https:\/\/accounts\.google\.com\/", error="invalid_token"$/,
  );
});

Deno.test("calendarErrorResponse() sends Retry-After only when asked", async () => {
  const plain = calendarErrorResponse("429");
  assert.equal(plain.headers.get("retry-after"), null);
  await plain.body?.cancel();
  const timed = calendarErrorResponse("429", { retryAfterSeconds: 7 });
  assert.equal(timed.headers.get("retry-after"), "7");
  assert.equal((await timed.json()).error.code, 429);
});

Deno.test("every injectable Calendar error builds", () => {
  for (const kind of INJECTABLE_CALENDAR_ERRORS) assert.ok(calendarError(kind).status >= 400, kind);
});
