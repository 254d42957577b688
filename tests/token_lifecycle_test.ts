/**
 * getGoogleAccessToken under expiry, concurrency across processes, crashes and Google failures;
 * google-disconnect, google-status and the calendar-upcoming example, over real HTTP.
 */

import { loadConfig } from "../supabase/functions/_google_calendar/config.ts";
import { isAppError } from "../supabase/functions/_google_calendar/errors.ts";
import { createCore as createServices } from "../supabase/functions/_google_calendar/core.ts";
import { createAccessTokenProvider } from "../supabase/functions/_google_calendar/access_token.ts";
import assert from "node:assert/strict";
import {
  callAsService,
  connectedUser,
  createUser,
  emulatorControl,
  expireAccessToken,
  googleStatus,
  refreshGrants,
  sql,
  stack,
  tokenRow,
} from "./support/stack.ts";
import { emulatorAccount } from "./support/flows.ts";
import { DENO } from "../local/stack/tools.ts";

const services = createServices(loadConfig({ ...stack.function_env, HTTP_TIMEOUT_MS: "500" }));

async function latestAccessToken(email: string): Promise<string> {
  return (await emulatorAccount(email)).latestAccessToken!.token;
}

Deno.test("getGoogleAccessToken: a valid token is returned without asking Google", async () => {
  const { user, google: email } = await connectedUser("valid");
  const before = await refreshGrants();
  const token = await services.accessTokens.getGoogleAccessToken(user.id);
  assert.deepEqual(token.accessToken, await latestAccessToken(email));
  assert.deepEqual(await refreshGrants(), before);
});

Deno.test("getGoogleAccessToken: an expiring token is refreshed once and persisted", async () => {
  const { user, google: email } = await connectedUser("expiry");
  const oldTokens = await services.tokens.get(user.id);
  await expireAccessToken(user.id);
  const before = await refreshGrants();
  const token = await services.accessTokens.getGoogleAccessToken(user.id);
  assert.deepEqual(await refreshGrants(), before + 1);
  assert.deepEqual(token.accessToken, await latestAccessToken(email));
  const stored = await services.tokens.get(user.id);
  assert.deepEqual(stored?.accessToken, token.accessToken);
  assert(stored!.expiresAt!.getTime() > Date.now() + 60_000, "new expiry stored");
  assert(stored!.lastRefreshAt !== null, "last refresh recorded");
  assert.deepEqual(stored?.refreshToken, oldTokens?.refreshToken, "refresh token kept");
  // A second call uses the stored token.
  await services.accessTokens.getGoogleAccessToken(user.id);
  assert.deepEqual(await refreshGrants(), before + 1);
});

Deno.test("getGoogleAccessToken: 50 callers in 2 processes make exactly one refresh", async () => {
  const { user, google: email } = await connectedUser("storm");
  await expireAccessToken(user.id);
  const before = await refreshGrants();
  const file = Deno.env.get("STACK_FILE") ?? ".local/stack.json";
  const workers = [1, 2].map(() =>
    new Deno.Command(DENO, {
      args: ["run", "--allow-all", "tests/support/token_worker.ts", file, user.id, "25"],
      stdout: "piped",
      stderr: "piped",
    }).output()
  );
  const outputs = await Promise.all(workers);
  const results = outputs.flatMap((o) => {
    assert(o.success, new TextDecoder().decode(o.stderr));
    return JSON.parse(new TextDecoder().decode(o.stdout)) as { token?: string; error?: string }[];
  });
  assert.deepEqual(results.length, 50);
  const expected = await latestAccessToken(email);
  assert.deepEqual(new Set(results.map((r) => r.token ?? r.error)), new Set([expected]));
  assert.deepEqual(await refreshGrants(), before + 1);
});

Deno.test("getGoogleAccessToken: a refresher that died holding the lease blocks only until it lapses", async () => {
  const { user } = await connectedUser("crashed");
  await expireAccessToken(user.id);
  // As if another instance took the lease and was killed before letting go.
  await sql(
    `update public.google_calendar_tokens
       set refresh_lease_id = gen_random_uuid(), refresh_lease_until = now() + interval '1 second'
     where user_id = :'id'`,
    { id: user.id },
  );
  const before = await refreshGrants();
  const provider = createAccessTokenProvider(services);
  const token = await provider.getGoogleAccessToken(user.id);
  assert(token.expiresAt!.getTime() > Date.now() + 60_000);
  assert.deepEqual(await refreshGrants(), before + 1);
});

Deno.test("getGoogleAccessToken: revoked at Google → row deleted, google_reconnect_required", async () => {
  const { user, google: email } = await connectedUser("revoked");
  await emulatorControl("accounts/revoke", { email });
  await expireAccessToken(user.id);
  await assert.rejects(
    () => services.accessTokens.getGoogleAccessToken(user.id),
    (e) => isAppError(e, "google_reconnect_required"),
  );
  assert.deepEqual(await tokenRow(user.id), null);
});

for (const kind of ["500", "garbage", "hang"] as const) {
  Deno.test(`getGoogleAccessToken: token endpoint faults (${kind}) are retried, then google_unavailable with the row intact`, async () => {
    const { user, google: email } = await connectedUser(`fault-${kind}`);
    await expireAccessToken(user.id);
    const rowBefore = await tokenRow(user.id);
    await emulatorControl("faults", { endpoint: "token", kind, count: 3 });
    await assert.rejects(
      () => services.accessTokens.getGoogleAccessToken(user.id),
      (e) => isAppError(e, "google_unavailable"),
    );
    const rowAfter = await tokenRow(user.id);
    assert.deepEqual(rowAfter?.access_token, rowBefore?.access_token);
    assert.deepEqual(rowAfter?.refresh_token, rowBefore?.refresh_token);
    assert.deepEqual(rowAfter?.last_refresh_error, "google_unavailable");
    assert.deepEqual(rowAfter?.refresh_lease_id, null);
    // The faults are used up: Google is back, and the same row works.
    const token = await services.accessTokens.getGoogleAccessToken(user.id);
    assert.deepEqual(token.accessToken, await latestAccessToken(email));
  });
}

Deno.test("getGoogleAccessToken: a user who never connected gets google_not_connected", async () => {
  const user = await createUser("never");
  await assert.rejects(
    () => services.accessTokens.getGoogleAccessToken(user.id),
    (e) => isAppError(e, "google_not_connected"),
  );
});

Deno.test("google-disconnect: revokes at Google, deletes the row, and is idempotent", async () => {
  const { user, google: email } = await connectedUser("disconnect");
  const stored = await services.tokens.get(user.id);
  const res = await callAsService("google-disconnect", { body: { user_id: user.id } });
  const body = await res.json();
  assert.deepEqual(res.status, 200);
  assert.deepEqual(body.was_connected, true);
  assert.deepEqual(body.revoked_at_google, true);
  assert.deepEqual(await tokenRow(user.id), null);
  const tokens = await emulatorAccount(email);
  assert(!tokens.refreshTokens.some((t) => t.token === stored!.refreshToken), "revoked at Google");
  await assert.rejects(
    () => services.google.refresh(stored!.refreshToken),
    (e) => isAppError(e, "google_reconnect_required"),
  );

  const again = await callAsService("google-disconnect", { body: { user_id: user.id } });
  const againBody = await again.json();
  assert.deepEqual(again.status, 200);
  assert.deepEqual(againBody.was_connected, false);
});

Deno.test("google-disconnect: GET is refused with 405", async () => {
  const user = await createUser("disc-get");
  const res = await callAsService("google-disconnect", { query: { user_id: user.id } });
  assert.deepEqual(res.status, 405);
  assert.deepEqual((await res.json()).code, "method_not_allowed");
});

Deno.test("google-status: reports the connection and never a token", async () => {
  const { user, google: email } = await connectedUser("status");
  const stored = await services.tokens.get(user.id);
  const res = await callAsService("google-status", { query: { user_id: user.id } });
  const text = await res.text();
  assert.deepEqual(res.status, 200);
  const body = JSON.parse(text);
  assert.deepEqual(body.connected, true);
  assert.deepEqual(body.google_email, email);
  assert.deepEqual(body.reconnect_required, false);
  assert(body.scopes.includes("https://www.googleapis.com/auth/calendar.events"));
  assert(!text.includes(stored!.accessToken) && !text.includes(stored!.refreshToken));
  const row = await tokenRow(user.id);
  assert(!text.includes(String(row!.access_token)) && !text.includes(String(row!.refresh_token)));

  const other = await createUser("status-none");
  const none = await googleStatus(other.id);
  assert.deepEqual([none.connected, none.reconnect_required], [false, true]);
});

Deno.test("calendar-upcoming: lists the user's events from the emulator with the stored token", async () => {
  const { user, google: email } = await connectedUser("upcoming");
  const start = new Date(Date.now() + 3600_000);
  await emulatorControl("events", {
    email,
    items: [{
      summary: "Dentist",
      start: { dateTime: start.toISOString() },
      end: { dateTime: new Date(start.getTime() + 1800_000).toISOString() },
    }],
  });
  const res = await callAsService("calendar-upcoming", { query: { user_id: user.id } });
  const body = await res.json();
  assert.deepEqual(res.status, 200);
  assert.deepEqual(body.events.map((e: { summary: string }) => e.summary), ["Dentist"]);
});

Deno.test("calendar-upcoming: a user who is not connected gets google_not_connected", async () => {
  const user = await createUser("upcoming-none");
  const res = await callAsService("calendar-upcoming", { query: { user_id: user.id } });
  assert.deepEqual(res.status, 404);
  assert.deepEqual((await res.json()).code, "google_not_connected");
});
