import assert from "node:assert/strict";
import { isAppError } from "./errors.ts";
import type { GoogleAccessToken, RenewOptions } from "./access_token.ts";
import {
  classifyRefusal,
  createGoogleFetch,
  googleErrorReasons,
  parseRetryAfter,
  resolveGoogleUrl,
} from "./google_fetch.ts";

/** Google's JSON error body, as the Calendar API sends it. */
function googleError(code: number, reason: string, detailReason?: string) {
  return {
    error: {
      code,
      message: "msg",
      errors: [{ domain: "usageLimits", reason, message: "msg" }],
      ...(detailReason
        ? {
          details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: detailReason }],
        }
        : {}),
    },
  };
}

/** A local server answering from `answers` in turn, recording what it was sent. */
function localGoogle(answers: (() => Response)[]) {
  const seen: { method: string; path: string; auth: string | null; body: string }[] = [];
  let i = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    seen.push({
      method: req.method,
      path: new URL(req.url).pathname + new URL(req.url).search,
      auth: req.headers.get("authorization"),
      body: await req.text(),
    });
    const answer = answers[Math.min(i++, answers.length - 1)]!;
    return answer();
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return { base, seen, close: () => server.shutdown() };
}

function tokens(first = "tok-1", renewed = "tok-2") {
  const calls = { get: 0, renew: [] as RenewOptions[] };
  const token = (accessToken: string): GoogleAccessToken => ({
    accessToken,
    expiresAt: null,
    scopes: [],
  });
  return {
    calls,
    provider: {
      getGoogleAccessToken: () => {
        calls.get++;
        return Promise.resolve(token(first));
      },
      renew: (_userId: string, options: RenewOptions = {}) => {
        calls.renew.push(options);
        return Promise.resolve(token(renewed));
      },
    },
  };
}

const USER = "6f1c2a4e-0000-4000-8000-000000000001";

Deno.test("googleFetch() sends the token in the Authorization header and returns a 2xx", async () => {
  const g = localGoogle([() => Response.json({ items: [] })]);
  try {
    const t = tokens();
    const fetchGoogle = createGoogleFetch({
      tokens: t.provider,
      apiBaseUrl: g.base,
      timeoutMs: 2000,
    });
    const res = await fetchGoogle(USER, "/calendar/v3/calendars/primary/events?maxResults=1");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { items: [] });
    assert.equal(g.seen[0]!.auth, "Bearer tok-1");
    assert.equal(g.seen[0]!.path, "/calendar/v3/calendars/primary/events?maxResults=1");
  } finally {
    await g.close();
  }
});

Deno.test("googleFetch() on 401 renews the refused token once and retries once", async () => {
  const g = localGoogle([
    () => new Response("{}", { status: 401 }),
    () => Response.json({ ok: true }),
  ]);
  try {
    const t = tokens();
    const fetchGoogle = createGoogleFetch({
      tokens: t.provider,
      apiBaseUrl: g.base,
      timeoutMs: 2000,
    });
    const res = await fetchGoogle(USER, "/x", { method: "POST", body: '{"a":1}' });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.deepEqual(t.calls.renew, [{ staleAccessToken: "tok-1" }]);
    assert.deepEqual(g.seen.map((s) => [s.auth, s.body]), [
      ["Bearer tok-1", '{"a":1}'],
      ["Bearer tok-2", '{"a":1}'],
    ]);
  } finally {
    await g.close();
  }
});

Deno.test("googleFetch() refuses a second 401 after the renewal rather than looping", async () => {
  const g = localGoogle([() => new Response("{}", { status: 401 })]);
  try {
    const t = tokens();
    const fetchGoogle = createGoogleFetch({
      tokens: t.provider,
      apiBaseUrl: g.base,
      timeoutMs: 2000,
    });
    await assert.rejects(fetchGoogle(USER, "/x"), (e) => isAppError(e, "google_error"));
    assert.equal(g.seen.length, 2);
    assert.equal(t.calls.renew.length, 1);
  } finally {
    await g.close();
  }
});

Deno.test("googleFetch() maps 429 and 403 rate reasons to google_rate_limited with Retry-After", async () => {
  for (
    const answer of [
      () =>
        Response.json(googleError(429, "rateLimitExceeded"), {
          status: 429,
          headers: { "retry-after": "7" },
        }),
      () => Response.json(googleError(403, "userRateLimitExceeded"), { status: 403 }),
      () => Response.json(googleError(403, "quotaExceeded"), { status: 403 }),
      () => Response.json(googleError(403, "rateLimitExceeded"), { status: 403 }),
    ]
  ) {
    const g = localGoogle([answer]);
    try {
      const t = tokens();
      const fetchGoogle = createGoogleFetch({
        tokens: t.provider,
        apiBaseUrl: g.base,
        timeoutMs: 2000,
        defaultRetryAfterSeconds: 3,
      });
      await assert.rejects(fetchGoogle(USER, "/x"), (e) => {
        assert.ok(isAppError(e, "google_rate_limited"));
        assert.equal(e.status, 429);
        assert.ok(e.retryAfterSeconds === 7 || e.retryAfterSeconds === 3);
        return true;
      });
      assert.equal(g.seen.length, 1, "rate limits are the caller's to wait out, not retried here");
    } finally {
      await g.close();
    }
  }
});

Deno.test("googleFetch() maps 403 scope and disabled-API reasons to their own codes", async () => {
  const cases: [() => Response, string][] = [
    [
      () => Response.json(googleError(403, "insufficientPermissions"), { status: 403 }),
      "google_scope_missing",
    ],
    [
      () =>
        Response.json(googleError(403, "forbidden", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"), {
          status: 403,
        }),
      "google_scope_missing",
    ],
    [
      () =>
        Response.json(googleError(403, "accessNotConfigured", "SERVICE_DISABLED"), { status: 403 }),
      "google_api_disabled",
    ],
  ];
  for (const [answer, code] of cases) {
    const g = localGoogle([answer]);
    try {
      const fetchGoogle = createGoogleFetch({
        tokens: tokens().provider,
        apiBaseUrl: g.base,
        timeoutMs: 2000,
      });
      await assert.rejects(fetchGoogle(USER, "/x"), (e) => isAppError(e) && e.code === code);
    } finally {
      await g.close();
    }
  }
});

Deno.test("googleFetch() returns other 4xx answers, body intact, for the skill to read", async () => {
  const g = localGoogle([
    () => Response.json(googleError(403, "forbidden"), { status: 403 }),
    () => Response.json(googleError(404, "notFound"), { status: 404 }),
  ]);
  try {
    const fetchGoogle = createGoogleFetch({
      tokens: tokens().provider,
      apiBaseUrl: g.base,
      timeoutMs: 2000,
    });
    const forbidden = await fetchGoogle(USER, "/x");
    assert.equal(forbidden.status, 403);
    assert.deepEqual(googleErrorReasons(await forbidden.json()), ["forbidden"]);
    const missing = await fetchGoogle(USER, "/y");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await g.close();
  }
});

Deno.test("googleFetch() retries 5xx for idempotent methods, then answers google_unavailable", async () => {
  const g = localGoogle([() => new Response("busy", { status: 503 })]);
  try {
    const fetchGoogle = createGoogleFetch({
      tokens: tokens().provider,
      apiBaseUrl: g.base,
      timeoutMs: 2000,
      attempts: 3,
      backoffMs: 1,
    });
    await assert.rejects(fetchGoogle(USER, "/x"), (e) => isAppError(e, "google_unavailable"));
    assert.equal(g.seen.length, 3, "GET: three attempts");
    await assert.rejects(
      fetchGoogle(USER, "/x", { method: "POST", body: "{}" }),
      (e) => isAppError(e, "google_unavailable"),
    );
    assert.equal(g.seen.length, 4, "POST is not idempotent: one attempt");
  } finally {
    await g.close();
  }
});

Deno.test("googleFetch() recovers when a retry of a 5xx succeeds", async () => {
  const g = localGoogle([() => new Response("", { status: 500 }), () => Response.json({ ok: 1 })]);
  try {
    const fetchGoogle = createGoogleFetch({
      tokens: tokens().provider,
      apiBaseUrl: g.base,
      timeoutMs: 2000,
      backoffMs: 1,
    });
    const res = await fetchGoogle(USER, "/x", { method: "DELETE" });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await g.close();
  }
});

Deno.test("googleFetch() gives up on a server that never answers at the timeout", async () => {
  const hole = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const conn of hole) conns.push(conn);
  })().catch(() => {});
  try {
    const fetchGoogle = createGoogleFetch({
      tokens: tokens().provider,
      apiBaseUrl: `http://127.0.0.1:${(hole.addr as Deno.NetAddr).port}`,
      timeoutMs: 100,
      attempts: 2,
      backoffMs: 1,
    });
    await assert.rejects(fetchGoogle(USER, "/x"), (e) => isAppError(e, "google_unavailable"));
  } finally {
    hole.close();
    for (const c of conns) c.close();
  }
});

Deno.test("googleFetch() never sends the token to a host that is not Google's API", () => {
  const base = new URL("https://www.googleapis.com");
  assert.equal(
    resolveGoogleUrl(base, "/calendar/v3/x").href,
    "https://www.googleapis.com/calendar/v3/x",
  );
  assert.equal(
    resolveGoogleUrl(base, "https://gmail.googleapis.com/gmail/v1/x").hostname,
    "gmail.googleapis.com",
  );
  for (
    const bad of [
      "https://evil.example/x",
      "http://www.googleapis.com/x",
      "https://googleapis.com.evil.example/",
      // G2: the host must end in ".googleapis.com" on a dot boundary.
      "https://evilgoogleapis.com/calendar/v3/x",
      "https://www.evilgoogleapis.com/x",
    ]
  ) {
    assert.throws(() => resolveGoogleUrl(base, bad), (e) => isAppError(e, "invalid_request"), bad);
  }
});

Deno.test("googleFetch() refuses a caller-set Authorization header and a one-shot stream body", async () => {
  const fetchGoogle = createGoogleFetch({
    tokens: tokens().provider,
    apiBaseUrl: "http://127.0.0.1:9",
    timeoutMs: 100,
  });
  await assert.rejects(
    fetchGoogle(USER, "/x", { headers: { authorization: "Bearer other" } }),
    (e) => isAppError(e, "invalid_request"),
  );
  await assert.rejects(
    fetchGoogle(USER, "/x", { method: "POST", body: new Blob(["x"]).stream() }),
    (e) => isAppError(e, "invalid_request"),
  );
});

Deno.test("classifyRefusal() leaves a plain 403 to the skill", () => {
  assert.equal(classifyRefusal(403, ["forbidden"], 5), null);
  assert.equal(classifyRefusal(429, [], 5)?.code, "google_rate_limited");
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates, and ignores nonsense", () => {
  assert.equal(parseRetryAfter("12"), 12);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter("soon"), null);
  const now = Date.parse("2026-11-25T10:00:00Z");
  assert.equal(parseRetryAfter("Wed, 25 Nov 2026 10:00:30 GMT", now), 30);
});
