/**
 * Issue 16, items 1 and 2, over real HTTP: what calendar-upcoming answers when the Calendar API
 * refuses a call (rate and quota limits, a missing scope, the API not enabled) and when it
 * refuses a token that still looks valid (refresh once, retry once; reconnect only when the
 * refresh answers invalid_grant). The faults come from the emulator, with Google's bodies.
 */

import assert from "node:assert/strict";
import {
  callAsService,
  client,
  connectedUser,
  emulatorControl,
  refreshGrants,
  tokenRow,
} from "./support/stack.ts";

type EventsFault =
  | "rateLimitExceeded"
  | "userRateLimitExceeded"
  | "quotaExceeded"
  | "429"
  | "accessNotConfigured"
  | "insufficientPermissions";

interface Answer {
  status: number;
  code: string | null;
  headers: Headers;
  body: Record<string, unknown>;
}

async function upcoming(userId: string, query: Record<string, string> = {}): Promise<Answer> {
  const res = await callAsService("calendar-upcoming", { query: { user_id: userId, ...query } });
  const body = await res.json() as Record<string, unknown>;
  return {
    status: res.status,
    code: typeof body.code === "string" ? body.code : null,
    headers: res.headers,
    body,
  };
}

/** The next events.list call fails with `kind`; dropped again in `finally` by the caller. */
async function eventsFault(kind: EventsFault, retryAfterSeconds?: number): Promise<void> {
  await emulatorControl("faults", {
    endpoint: "events",
    kind,
    count: 1,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}

for (
  const kind of ["rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "429"] as const
) {
  Deno.test(`calendar-upcoming: Calendar ${kind} → 429 google_rate_limited with Retry-After, row untouched`, async () => {
    const { user } = await connectedUser(`rate-${kind}`);
    const before = await tokenRow(user.id);
    try {
      await eventsFault(kind, 17);
      const answer = await upcoming(user.id);
      assert.deepEqual([answer.status, answer.code], [429, "google_rate_limited"]);
      assert.equal(answer.headers.get("retry-after"), "17", "Google's Retry-After passed on");
      assert.equal(answer.body.retry_after_seconds, 17);
      assert.deepEqual(await tokenRow(user.id), before, "the row is untouched");

      // Google does not promise a Retry-After: the bot still gets one to wait for.
      await eventsFault(kind);
      const bare = await upcoming(user.id);
      assert.deepEqual([bare.status, bare.code], [429, "google_rate_limited"]);
      assert.ok(Number(bare.headers.get("retry-after")) > 0, "a default Retry-After");
      assert.deepEqual(await tokenRow(user.id), before, "still untouched");

      // The limit passed: the same row serves the next call.
      assert.equal((await upcoming(user.id)).status, 200);
    } finally {
      await client.clearFaults();
    }
  });
}

Deno.test("calendar-upcoming: Calendar 403 insufficientPermissions → google_scope_missing, never reconnect_required", async () => {
  const { user } = await connectedUser("scope403");
  const before = await tokenRow(user.id);
  try {
    await eventsFault("insufficientPermissions");
    const answer = await upcoming(user.id);
    assert.deepEqual([answer.status, answer.code], [400, "google_scope_missing"]);
    assert.deepEqual(await tokenRow(user.id), before, "the row is untouched");
  } finally {
    await client.clearFaults();
  }
});

Deno.test("calendar-upcoming: Calendar accessNotConfigured → google_api_disabled (5xx), logged as an error, row untouched", async () => {
  const { user } = await connectedUser("apidisabled");
  const before = await tokenRow(user.id);
  const logFrom = await client.logMarks(["calendar-upcoming"]);
  try {
    await eventsFault("accessNotConfigured");
    const answer = await upcoming(user.id);
    assert.equal(answer.code, "google_api_disabled");
    assert.ok(answer.status >= 500 && answer.status < 600, `5xx, not ${answer.status}`);
    assert.notEqual(answer.code, "google_reconnect_required");
    assert.deepEqual(await tokenRow(user.id), before, "the row is untouched");
  } finally {
    await client.clearFaults();
  }
  // stdout and stderr share the log file; only console.error (logError for operator codes, and
  // googleFetch's own alert) prints these lines, so their presence is the error-level line.
  const log = await client.logsMatching(logFrom, /calendar-upcoming: code=google_api_disabled/);
  assert.ok(!log.includes("ya29."), "no access token in the log");
});

Deno.test("calendar-upcoming: a Calendar 401 for a token that looks valid → one refresh, one retry, 200", async () => {
  const { user } = await connectedUser("invalidated");
  const stored = await client.decryptedRow(user.id);
  await emulatorControl("tokens/invalidate", { accessToken: stored!.accessToken });
  const refreshesBefore = await refreshGrants();
  const answer = await upcoming(user.id);
  assert.equal(answer.status, 200, `answered ${answer.code}`);
  assert.equal(await refreshGrants(), refreshesBefore + 1, "exactly one refresh at Google");
  const after = await client.decryptedRow(user.id);
  assert.ok(after, "the row stays");
  assert.notEqual(after.accessToken, stored!.accessToken, "the refused token was replaced");
  assert.equal(after.refreshToken, stored!.refreshToken, "same grant");

  // The new token works: no further refresh.
  assert.equal((await upcoming(user.id)).status, 200);
  assert.equal(await refreshGrants(), refreshesBefore + 1);
});

Deno.test("calendar-upcoming: a Calendar 401 whose refresh answers invalid_grant → google_reconnect_required, row gone", async () => {
  const { user, google } = await connectedUser("revoked401");
  // Ended at Google (as a revocation there does): the access token gets 401, the refresh token
  // invalid_grant. Our stored expiry still says the access token is good.
  await emulatorControl("grants/end", { email: google });
  const refreshesBefore = await refreshGrants();
  const answer = await upcoming(user.id);
  assert.deepEqual([answer.status, answer.code], [409, "google_reconnect_required"]);
  assert.equal(await refreshGrants(), refreshesBefore + 1, "one refresh, answered invalid_grant");
  assert.equal(await tokenRow(user.id), null, "the dead grant's row is gone");
});

Deno.test("calendar-upcoming: concurrent calls that all meet the 401 share one refresh", async () => {
  const { user } = await connectedUser("invalidated-many");
  const stored = await client.decryptedRow(user.id);
  await emulatorControl("tokens/invalidate", { accessToken: stored!.accessToken });
  const refreshesBefore = await refreshGrants();
  const answers = await Promise.all(Array.from({ length: 6 }, () => upcoming(user.id)));
  assert.deepEqual(answers.map((a) => a.status), Array(6).fill(200));
  assert.equal(await refreshGrants(), refreshesBefore + 1, "one refresh for all of them");
});
