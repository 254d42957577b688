/**
 * Issue 14 items 2, 4 and 9 (refresh side), against the stack's database and emulator: the
 * refresh margin, the lease (only its holder writes, a re-consent voids it, it covers the whole
 * retry budget, it is released on every path, waiters wake on release), a refresh racing a
 * reconnect, scopes read exactly (also from a refresh answer), and disconnect revoking the grant.
 */

import assert from "node:assert/strict";
import { createAccessTokenProvider } from "../supabase/functions/_google_calendar/access_token.ts";
import { loadConfig } from "../supabase/functions/_google_calendar/config.ts";
import { createCore } from "../supabase/functions/_google_calendar/core.ts";
import { AppError, isAppError } from "../supabase/functions/_google_calendar/errors.ts";
import { CALENDAR_SCOPE } from "../supabase/functions/_google_calendar/google_facts.ts";
import type {
  GoogleOAuth,
  GoogleTokenSet,
} from "../supabase/functions/_google_calendar/google_oauth.ts";
import type { RefreshLease } from "../supabase/functions/_google_calendar/refresh_lease.ts";
import {
  callAsService,
  connectedUser,
  connectFully,
  connectUrl,
  createUser,
  emulatorControl,
  expireAccessToken,
  googleStatus,
  sql,
  stack,
} from "./support/stack.ts";
import { emulatorAccount } from "./support/flows.ts";

const core = createCore(loadConfig({ ...stack.function_env, HTTP_TIMEOUT_MS: "2000" }));

async function setExpiry(userId: string, interval: string): Promise<void> {
  await sql(
    `update public.google_calendar_tokens set token_expiry = now() + interval '${interval}' where user_id = :'id'`,
    { id: userId },
  );
}

async function leaseOf(userId: string): Promise<{ id: string; secondsLeft: number }> {
  const [row] = await sql(
    "select coalesce(refresh_lease_id::text, '') || ' ' || coalesce(extract(epoch from refresh_lease_until - now()), 0) from public.google_calendar_tokens where user_id = :'id'",
    { id: userId },
  );
  const [id, left] = (row ?? " 0").split(" ");
  return { id: id ?? "", secondsLeft: Number(left) };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e) => isAppError(e) && e.code === code || assert.fail(`${e}`));
}

/** A Google whose refresh blocks until `open()`, then answers `answer()`. */
function gatedGoogle(answer: () => Promise<GoogleTokenSet>) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  let entered!: () => void;
  const started = new Promise<void>((resolve) => entered = resolve);
  const google = {
    ...core.google,
    async refresh() {
      entered();
      await gate;
      return await answer();
    },
  } as GoogleOAuth;
  return { google, started, open };
}

const fakeTokens = (scopes: string[] = [CALENDAR_SCOPE]): GoogleTokenSet => ({
  accessToken: `late-${crypto.randomUUID()}`,
  refreshToken: null,
  expiresAt: new Date(Date.now() + 3600_000),
  refreshTokenExpiresAt: null,
  scopes,
});

Deno.test("refresh margin: a token that expires in 30 s is refreshed before it is handed out", async () => {
  const { user } = await connectedUser("margin");
  await setExpiry(user.id, "30 seconds");
  const before = await core.tokens.get(user.id);
  const token = await core.accessTokens.getGoogleAccessToken(user.id);
  assert.notEqual(token.accessToken, before!.accessToken, "a new token, not the expiring one");
  assert.ok(token.expiresAt!.getTime() > Date.now() + 60_000, "valid for more than the margin");
});

Deno.test("lease: a refresher whose lease lapsed and was taken by another writes nothing", async () => {
  const { user } = await connectedUser("lapsed");
  const first = crypto.randomUUID();
  const second = crypto.randomUUID();
  assert.ok(await core.lease.acquire(user.id, first, 30));
  await sql(
    "update public.google_calendar_tokens set refresh_lease_until = now() - interval '1 second' where user_id = :'id'",
    { id: user.id },
  );
  assert.ok(await core.lease.acquire(user.id, second, 30), "the lapsed lease is taken over");
  const before = await core.tokens.get(user.id);
  const late = fakeTokens();
  const saved = await core.lease.saveRefreshed(user.id, first, {
    ...late,
    refreshToken: before!.refreshToken,
  });
  assert.equal(saved, false);
  assert.equal((await core.tokens.get(user.id))!.accessToken, before!.accessToken, "unchanged");
  assert.equal((await leaseOf(user.id)).id, second, "the new holder keeps its lease");
  await core.lease.release(user.id, second);
});

Deno.test("lease: a refresh that started before a re-consent does not overwrite the new tokens", async () => {
  const { user, google: email } = await connectedUser("reconsent");
  const leaseId = crypto.randomUUID();
  assert.ok(await core.lease.acquire(user.id, leaseId, 30));
  const old = await core.tokens.get(user.id);
  assert.deepEqual((await connectFully(user, email)).result, "connected", "re-consent");
  const fresh = await core.tokens.get(user.id);
  assert.notEqual(fresh!.grantId, old!.grantId, "a new grant");
  const saved = await core.lease.saveRefreshed(user.id, leaseId, {
    ...fakeTokens(),
    refreshToken: old!.refreshToken,
  });
  assert.equal(saved, false, "the old refresher's lease died with the old grant");
  assert.equal((await core.tokens.get(user.id))!.accessToken, fresh!.accessToken);
});

Deno.test("race: a reconnect while a refresh is in flight survives that refresh's invalid_grant", async () => {
  const { user, google: email } = await connectedUser("race");
  await expireAccessToken(user.id);
  const old = await core.tokens.get(user.id);
  const { google, started, open } = gatedGoogle(() => {
    throw new AppError("google_reconnect_required", "invalid_grant");
  });
  const provider = createAccessTokenProvider(
    { tokens: core.tokens, lease: core.lease, google },
    { timeoutMs: 2000 },
  );
  const refreshing = provider.getGoogleAccessToken(user.id);
  await started;
  assert.deepEqual((await connectFully(user, email)).result, "connected", "reconnected");
  open();
  await rejectsWith(refreshing, "google_reconnect_required");
  const now = await core.tokens.get(user.id);
  assert.ok(now, "the new grant is still there");
  assert.notEqual(now.grantId, old!.grantId);
});

Deno.test("lease: it covers the whole retry budget (3 × timeout + backoff), not a fixed 30 s", async () => {
  const { user } = await connectedUser("budget");
  await expireAccessToken(user.id);
  const timeoutMs = 10_000;
  const { google, started, open } = gatedGoogle(() => Promise.resolve(fakeTokens()));
  const provider = createAccessTokenProvider(
    { tokens: core.tokens, lease: core.lease, google },
    { timeoutMs, attempts: 3, backoffMs: 250 },
  );
  const budgetSeconds = (3 * timeoutMs + 250 + 500) / 1000;
  assert.ok(provider.leaseSeconds >= budgetSeconds, `${provider.leaseSeconds} s`);
  const refreshing = provider.getGoogleAccessToken(user.id);
  await started;
  const lease = await leaseOf(user.id);
  open();
  await refreshing;
  assert.ok(lease.id !== "", "held during the refresh");
  assert.ok(lease.secondsLeft >= budgetSeconds, `lease of ${lease.secondsLeft} s in the database`);
  assert.equal((await leaseOf(user.id)).id, "", "released after saving");
});

Deno.test("lease: released when saving the refresh throws, and when anything else under it throws", async () => {
  const { user } = await connectedUser("finally");
  await expireAccessToken(user.id);
  const google = { ...core.google, refresh: () => Promise.resolve(fakeTokens()) } as GoogleOAuth;
  const failingSave: RefreshLease = {
    ...core.lease,
    saveRefreshed: () => Promise.reject(new AppError("database_unavailable", "down")),
  };
  const saving = createAccessTokenProvider({ tokens: core.tokens, lease: failingSave, google });
  await rejectsWith(saving.getGoogleAccessToken(user.id), "database_unavailable");
  assert.equal((await leaseOf(user.id)).id, "", "released after a failed save");

  // Something unexpected after the lease was taken (not an AppError from Google).
  const broken = { ...core.google, refresh: () => Promise.reject(new TypeError("boom")) };
  const reading = createAccessTokenProvider({
    tokens: core.tokens,
    lease: core.lease,
    google: broken as GoogleOAuth,
  });
  await expireAccessToken(user.id);
  await assert.rejects(reading.getGoogleAccessToken(user.id));
  assert.equal((await leaseOf(user.id)).id, "", "released after an unexpected failure");
});

Deno.test("lease: a waiter wakes when the lease is released, not at its timeout", async () => {
  const { user } = await connectedUser("waiter");
  const leaseId = crypto.randomUUID();
  assert.ok(await core.lease.acquire(user.id, leaseId, 30));
  assert.equal(
    (await core.lease.awaitRelease(user.id, 20)).state,
    "timeout",
    "held: the wait times out",
  );
  const waiting = core.lease.awaitRelease(user.id, 900);
  await core.lease.release(user.id, leaseId);
  const woken = await waiting;
  assert.equal(woken.state, "released");
  assert.equal(woken.state === "released" && woken.row?.userId, user.id, "with the row");
});

Deno.test("scopes: a refresh answer without the calendar scope is google_scope_missing", async () => {
  const { user, google: email } = await connectedUser("narrowed");
  await emulatorControl("grants/narrow", { email, remove: [CALENDAR_SCOPE] });
  await expireAccessToken(user.id);
  await rejectsWith(core.accessTokens.getGoogleAccessToken(user.id), "google_scope_missing");
  assert.equal((await googleStatus(user.id)).reconnect_required, true);
});

Deno.test("scopes: one that merely starts like ours (calendar.readonly, calendar.events.readonly) is not calendar access", async () => {
  const url = await connectUrl((await createUser("incremental")).id);
  assert.equal(url.searchParams.get("include_granted_scopes"), "true");
  for (
    const scope of [
      "https://www.googleapis.com/auth/calendar.readonly",
      `${CALENDAR_SCOPE}.readonly`,
      `${CALENDAR_SCOPE}.owned`,
    ]
  ) {
    const { user } = await connectedUser("prefix");
    await sql(
      "update public.google_calendar_tokens set scopes = array['openid', :'scope'] where user_id = :'id'",
      { id: user.id, scope },
    );
    await rejectsWith(core.accessTokens.getGoogleAccessToken(user.id), "google_scope_missing");
    assert.equal((await googleStatus(user.id)).reconnect_required, true, scope);
  }
});

Deno.test("disconnect: after the access token died, it still ends the grant at Google", async () => {
  const { user, google: email } = await connectedUser("revoke-refresh");
  await emulatorControl("tokens/invalidate", { email });
  assert.ok((await emulatorAccount(email)).refreshTokens.length > 0, "the grant is alive");
  const res = await callAsService("google-disconnect", { body: { user_id: user.id } });
  assert.equal(res.status, 200, await res.text());
  assert.deepEqual((await emulatorAccount(email)).refreshTokens, [], "no live refresh token");
});
