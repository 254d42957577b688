// The emulator's Calendar side as Google's Calendar API answers: documented error bodies,
// a token that dies on its own, and events.list pages, all-day, untitled and typed entries.
import assert from "node:assert/strict";
import {
  controlCall,
  eventsCall,
  refreshCall,
  signIn,
  TEST_EMAIL,
  testEmulator,
} from "../local/google_emulator/testing.ts";

Deno.test("emulator: each injected Calendar error answers with Google's body, then the API recovers", async () => {
  const { emulator } = await testEmulator();
  const { access_token: token = "" } = await signIn(emulator);
  const cases = [
    ["rateLimitExceeded", 403, "rateLimitExceeded", "RATE_LIMIT_EXCEEDED"],
    ["userRateLimitExceeded", 403, "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"],
    ["quotaExceeded", 403, "quotaExceeded", undefined],
    ["429", 429, "rateLimitExceeded", "RATE_LIMIT_EXCEEDED"],
    ["accessNotConfigured", 403, "accessNotConfigured", "SERVICE_DISABLED"],
    ["insufficientPermissions", 403, "insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"],
  ] as const;
  for (const [kind, status, reason, info] of cases) {
    const queued = await controlCall(emulator, "faults", { endpoint: "events", kind });
    assert.equal(queued.status, 200, kind);
    const failed = await eventsCall(emulator, token);
    assert.equal(failed.status, status, kind);
    assert.equal(failed.body.error.code, status, kind);
    assert.equal(typeof failed.body.error.message, "string");
    assert.equal(failed.body.error.errors[0].reason, reason, kind);
    assert.equal(typeof failed.body.error.errors[0].domain, "string");
    assert.equal(
      failed.body.error.status,
      status === 429 ? "RESOURCE_EXHAUSTED" : "PERMISSION_DENIED",
    );
    const detail = failed.body.error.details?.find((d: { reason?: string }) =>
      d.reason !== undefined
    );
    assert.equal(detail?.reason, info, kind);
    assert.equal(failed.headers.get("retry-after"), null, "Retry-After is opt-in");
    assert.equal((await eventsCall(emulator, token)).status, 200, `${kind}: count 1 by default`);
  }
  assert.equal(emulator.stats().faultsServed.events, cases.length);
});

Deno.test("emulator: a persistent rate limit with Retry-After lasts until the faults are cleared", async () => {
  const { emulator } = await testEmulator();
  const { access_token: token = "" } = await signIn(emulator);
  await controlCall(emulator, "faults", {
    endpoint: "events",
    kind: "429",
    persistent: true,
    retryAfterSeconds: 30,
  });
  for (let i = 0; i < 3; i++) {
    const limited = await eventsCall(emulator, token);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), "30");
  }
  assert.equal(emulator.stats().faultsPending.events, 1);
  const cleared = await emulator.fetch("/__emulator/faults", { method: "DELETE" });
  await cleared.body?.cancel();
  assert.equal((await eventsCall(emulator, token)).status, 200);
});

Deno.test("emulator: a count-limited userRateLimitExceeded fails exactly count calls", async () => {
  const { emulator } = await testEmulator();
  const { access_token: token = "" } = await signIn(emulator);
  await controlCall(emulator, "faults", {
    endpoint: "events",
    kind: "userRateLimitExceeded",
    count: 2,
  });
  assert.equal((await eventsCall(emulator, token)).status, 403);
  assert.equal((await eventsCall(emulator, token)).status, 403);
  assert.equal((await eventsCall(emulator, token)).status, 200);
});

Deno.test("emulator: a token without a Calendar scope gets insufficientPermissions with ErrorInfo", async () => {
  const { emulator } = await testEmulator();
  const { access_token: token = "" } = await signIn(emulator, {
    params: { scope: "openid email" },
  });
  const { status, headers, body } = await eventsCall(emulator, token);
  assert.equal(status, 403);
  assert.equal(body.error.errors[0].reason, "insufficientPermissions");
  assert.equal(body.error.details[0].reason, "ACCESS_TOKEN_SCOPE_INSUFFICIENT");
  assert.match(headers.get("www-authenticate") ?? "", /insufficient_scope/);
});

Deno.test("emulator: an invalidated access token gets 401 with WWW-Authenticate, and refresh still works", async () => {
  const { emulator } = await testEmulator();
  const first = await signIn(emulator);
  const token = first.access_token ?? "";
  assert.equal((await eventsCall(emulator, token)).status, 200);
  const control = await controlCall(emulator, "tokens/invalidate", { accessToken: token });
  assert.deepEqual(control.body, { invalidated: 1 });
  const dead = await eventsCall(emulator, token);
  assert.equal(dead.status, 401);
  assert.equal(dead.body.error.status, "UNAUTHENTICATED");
  assert.equal(dead.body.error.errors[0].reason, "authError");
  assert.match(dead.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
  const refreshed = await refreshCall(emulator, first.refresh_token ?? "");
  assert.equal(refreshed.status, 200);
  assert.equal((await eventsCall(emulator, refreshed.body.access_token ?? "")).status, 200);
  assert.equal(emulator.accountTokens(TEST_EMAIL)?.accessTokens[0]?.expired, true);
});

Deno.test("emulator: tokens/invalidate by email kills every access token of the account", async () => {
  const { emulator } = await testEmulator();
  const a = await signIn(emulator);
  const b = await signIn(emulator, { params: { prompt: "consent" } });
  const { body } = await controlCall(emulator, "tokens/invalidate", { email: TEST_EMAIL });
  assert.equal(body.invalidated, 2);
  assert.equal((await eventsCall(emulator, a.access_token ?? "")).status, 401);
  assert.equal((await eventsCall(emulator, b.access_token ?? "")).status, 401);
  const bad = await controlCall(emulator, "tokens/invalidate", { accessToken: "ya29.unknown" });
  assert.equal(bad.status, 400);
});

Deno.test("emulator: events.list pages under the server cap and follows pageToken to the end", async () => {
  const { emulator } = await testEmulator();
  const { access_token: token = "" } = await signIn(emulator);
  const items = Array.from({ length: 7 }, (_, i) => ({
    summary: `e${i}`,
    start: { dateTime: `2026-01-1${i}T10:00:00Z` },
    end: { dateTime: `2026-01-1${i}T11:00:00Z` },
  }));
  assert.equal((await controlCall(emulator, "events", { email: TEST_EMAIL, items })).status, 200);
  assert.equal((await controlCall(emulator, "config", { eventsPageCap: 3 })).body.eventsPageCap, 3);
  const summaries: string[] = [];
  let query = "?maxResults=250&singleEvents=true&orderBy=startTime";
  let pages = 0;
  for (;;) {
    const page = await eventsCall(emulator, token, query);
    assert.equal(page.status, 200);
    pages += 1;
    assert.ok(page.body.items.length <= 3, "the server cap wins over maxResults");
    summaries.push(...page.body.items.map((item: { summary: string }) => item.summary));
    if (page.body.nextPageToken === undefined) break;
    query = `?maxResults=250&singleEvents=true&orderBy=startTime&pageToken=${
      encodeURIComponent(page.body.nextPageToken)
    }`;
  }
  assert.equal(pages, 3);
  assert.deepEqual(summaries, items.map((item) => item.summary));
  const small = await eventsCall(emulator, token, "?maxResults=2");
  assert.equal(small.body.items.length, 2);
  assert.equal(typeof small.body.nextPageToken, "string");
  const bogus = await eventsCall(emulator, token, "?pageToken=nope");
  assert.equal(bogus.status, 400);
});

Deno.test("emulator: events.list returns all-day, untitled and special-type entries unless eventTypes narrows", async () => {
  const { emulator } = await testEmulator();
  const { access_token: token = "" } = await signIn(emulator);
  const seeded = await controlCall(emulator, "events", {
    email: TEST_EMAIL,
    items: [
      {
        summary: "Standup",
        start: { dateTime: "2026-01-06T09:00:00Z" },
        end: { dateTime: "2026-01-06T09:15:00Z" },
      },
      { start: { dateTime: "2026-01-06T13:00:00Z" }, end: { dateTime: "2026-01-06T14:00:00Z" } },
      { summary: "Holiday", start: { date: "2026-01-07" }, end: { date: "2026-01-08" } },
      {
        summary: "Away",
        eventType: "outOfOffice",
        start: { dateTime: "2026-01-08T00:00:00Z" },
        end: { dateTime: "2026-01-09T00:00:00Z" },
      },
      {
        summary: "Home",
        eventType: "workingLocation",
        start: { date: "2026-01-09" },
        end: { date: "2026-01-10" },
      },
      {
        summary: "Bob's birthday",
        eventType: "birthday",
        start: { date: "2026-01-10" },
        end: { date: "2026-01-11" },
      },
    ],
  });
  assert.equal(seeded.body.count, 6);
  const all = await eventsCall(emulator, token, "?singleEvents=true&orderBy=startTime");
  assert.deepEqual(all.body.items.map((item: { eventType: string }) => item.eventType), [
    "default",
    "default",
    "default",
    "outOfOffice",
    "workingLocation",
    "birthday",
  ]);
  const [, untitled, holiday] = all.body.items;
  assert.equal("summary" in untitled, false, "an untitled event has no summary field");
  assert.deepEqual([holiday.start, holiday.end], [{ date: "2026-01-07" }, { date: "2026-01-08" }]);
  const wanted = await eventsCall(emulator, token, "?eventTypes=default&eventTypes=outOfOffice");
  assert.deepEqual(wanted.body.items.map((item: { eventType: string }) => item.eventType), [
    "default",
    "default",
    "default",
    "outOfOffice",
  ]);
  const clear = await emulator.fetch(`/__emulator/events?email=${TEST_EMAIL}`, {
    method: "DELETE",
  });
  await clear.body?.cancel();
  assert.deepEqual((await eventsCall(emulator, token)).body.items, []);
});
