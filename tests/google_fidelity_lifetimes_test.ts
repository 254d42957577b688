/**
 * Issue 16, item 6, over real HTTP: refresh tokens that end on their own. An app in Testing gets
 * 7-day refresh tokens, a time-limited grant says `refresh_token_expires_in`, and any refresh
 * token unused for six months dies. When Google told us the end, google-status shows it and,
 * once it has passed, calendar-upcoming answers google_reconnect_required without asking Google;
 * when it did not (inactivity), the refresh's invalid_grant says so. Either way the row goes.
 *
 * "Time passes" on both sides: the emulator's clock moves forward, and the row's timestamps move
 * back by as much (the functions run on the machine's clock). Every emulator setting is restored
 * in `finally`: the tests share one stack.
 */

import assert from "node:assert/strict";
import {
  callAsService,
  client,
  connectedUser,
  emulatorControl,
  googleStatus,
  sql,
  stack,
  type TestUser,
  tokenRow,
} from "./support/stack.ts";

const DAY_MS = 86_400_000;

async function googleCalls(): Promise<{ refreshes: number; events: number }> {
  const stats = await client.stats() as unknown as {
    tokenGrants: { refresh_token: { ok: number; error: number } };
    eventsCalls: { ok: number; error: number };
  };
  const { ok, error } = stats.tokenGrants.refresh_token;
  return { refreshes: ok + error, events: stats.eventsCalls.ok + stats.eventsCalls.error };
}

/** Runs `body` with the emulator's clock as it is now restored afterwards. */
async function keepingClock(body: () => Promise<void>): Promise<void> {
  const { offsetMs } = await emulatorControl("clock", { advanceMs: 0 }) as { offsetMs: number };
  try {
    await body();
  } finally {
    await emulatorControl("clock", { offsetMs });
  }
}

/** `ms` pass for Google (its clock) and for us (the row's timestamps move back). */
async function timePasses(userId: string, ms: number): Promise<void> {
  await emulatorControl("clock", { advanceMs: ms });
  await sql(
    `update public.google_calendar_tokens
        set token_expiry = token_expiry - make_interval(secs => :'s'::double precision),
            refresh_token_expires_at =
              refresh_token_expires_at - make_interval(secs => :'s'::double precision)
      where user_id = :'id'`,
    { id: userId, s: String(ms / 1000) },
  );
}

/** Refreshes at the emulator directly, as the functions would: Google's own answer. */
async function refreshAtGoogle(refreshToken: string): Promise<{ status: number; error?: string }> {
  const env = stack.function_env;
  const res = await fetch(`${stack.google_emulator_url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      client_id: env.GOOGLE_CLIENT_ID!,
      client_secret: env.GOOGLE_CLIENT_SECRET!,
    }),
  });
  const body = await res.json();
  return { status: res.status, ...(body.error ? { error: body.error } : {}) };
}

/** Within a minute of `expectedMs` from now. */
function assertAbout(iso: unknown, expectedMs: number, what: string): void {
  assert.equal(typeof iso, "string", `${what} is shown`);
  const delta = Date.parse(iso as string) - (Date.now() + expectedMs);
  assert.ok(Math.abs(delta) < 60_000, `${what} ${iso} is ${delta} ms off`);
}

/**
 * A grant whose end Google announced (`lifetimeMs`): shown by google-status; once passed,
 * calendar-upcoming says reconnect without calling Google, and the row is gone. Google agrees.
 */
async function checkAnnouncedEnd(user: TestUser, lifetimeMs: number): Promise<void> {
  assertAbout(
    (await googleStatus(user.id)).refresh_token_expires_at,
    lifetimeMs,
    "the grant's end",
  );
  const stored = await client.decryptedRow(user.id);
  await timePasses(user.id, lifetimeMs + 60_000);

  const before = await googleCalls();
  const res = await callAsService("calendar-upcoming", { query: { user_id: user.id } });
  const body = await res.json();
  assert.deepEqual([res.status, body.code], [409, "google_reconnect_required"]);
  assert.deepEqual(await googleCalls(), before, "no refresh (and no Calendar call) at Google");
  assert.equal(await tokenRow(user.id), null, "the row is gone");
  const shown = await googleStatus(user.id);
  assert.deepEqual([shown.connected, shown.reconnect_required], [false, true]);

  // Not a guess: Google itself no longer takes that refresh token.
  assert.deepEqual(await refreshAtGoogle(stored!.refreshToken), {
    status: 400,
    error: "invalid_grant",
  });
}

Deno.test("app in Testing: 7-day refresh token shown by google-status; past it, reconnect_required without a refresh", async () => {
  await keepingClock(async () => {
    try {
      await emulatorControl("clients/publishing", { status: "testing" });
      const { user } = await connectedUser("testing-mode");
      await checkAnnouncedEnd(user, 7 * DAY_MS);
    } finally {
      await emulatorControl("clients/publishing", { status: "production" });
    }
  });
});

Deno.test("time-limited grant (refresh_token_expires_in): end shown; past it, reconnect_required without a refresh", async () => {
  await keepingClock(async () => {
    try {
      await emulatorControl("clients/grant-lifetime", { seconds: 3600 });
      const { user } = await connectedUser("time-limited");
      await checkAnnouncedEnd(user, 3600_000);
    } finally {
      await emulatorControl("clients/grant-lifetime", { seconds: null });
    }
  });
});

Deno.test("six months unused: no end announced; the refresh's invalid_grant means reconnect_required, row gone", async () => {
  await keepingClock(async () => {
    const { user } = await connectedUser("inactive");
    assert.equal((await googleStatus(user.id)).refresh_token_expires_at, null, "no end announced");
    await timePasses(user.id, 184 * DAY_MS);
    const before = await googleCalls();
    const res = await callAsService("calendar-upcoming", { query: { user_id: user.id } });
    const body = await res.json();
    assert.deepEqual([res.status, body.code], [409, "google_reconnect_required"]);
    assert.equal((await googleCalls()).refreshes, before.refreshes + 1, "one refresh asked");
    assert.equal(await tokenRow(user.id), null, "the row is gone");
  });
});
