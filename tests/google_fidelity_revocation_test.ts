/**
 * Issue 16, item 4, over real HTTP: revoking at Google ends the app's grant for that Google
 * account, remembered scopes included. A reconnect with the calendar box unticked is then
 * partial, and two app users sharing one Google account share one grant: disconnecting one ends
 * the other's.
 */

import assert from "node:assert/strict";
import { CALENDAR_SCOPE } from "../supabase/functions/_shared/google_facts.ts";
import {
  callAsService,
  callback,
  client,
  connectedUser,
  connectUrl,
  consent,
  expireAccessToken,
  googleEmail,
  googleStatus,
  type TestUser,
  tokenRow,
} from "./support/stack.ts";

async function disconnect(userId: string): Promise<Record<string, unknown>> {
  const res = await callAsService("google-disconnect", { body: { user_id: userId } });
  assert.equal(res.status, 200);
  return await res.json();
}

/** A new link for `user`, consented by `google` with the calendar box unticked. */
async function reconnectWithoutCalendar(user: TestUser, google: string) {
  const url = await consent(await connectUrl(user.id), {
    email: google,
    uncheck: [CALENDAR_SCOPE],
  });
  return await callback(url);
}

/** The scopes of the newest live refresh token the emulator holds for `google`. */
async function newestGrantScopes(google: string): Promise<string[]> {
  const account = await client.account(google) as unknown as {
    refreshTokens: { scope: string; createdAt: string }[];
  };
  const newest = account.refreshTokens.toSorted((a, b) => a.createdAt < b.createdAt ? 1 : -1)[0];
  assert.ok(newest, `no live grant at Google for ${google}`);
  return newest.scope.split(" ");
}

Deno.test("without a revocation, Google remembers the calendar scope: an unticked reconnect still connects", async () => {
  // The contrast for the next test: include_granted_scopes brings back what was granted before.
  const { user, google } = await connectedUser("remembered");
  const answer = await reconnectWithoutCalendar(user, google);
  assert.equal(answer.result, "connected");
  assert.equal((await googleStatus(user.id)).connected, true);
});

Deno.test("disconnect revokes at Google: reconnecting with the calendar box unticked is partial (nothing remembered)", async () => {
  const { user, google } = await connectedUser("revoked");
  const gone = await disconnect(user.id);
  assert.equal(gone.revoked_at_google, true, "revoked at Google, not only queued");

  const answer = await reconnectWithoutCalendar(user, google);
  assert.deepEqual([answer.result, answer.reason], ["partial", "google_scope_missing"]);
  assert.ok(
    !(await newestGrantScopes(google)).includes(CALENDAR_SCOPE),
    "Google's new grant has no calendar scope",
  );
  const shown = await googleStatus(user.id);
  assert.deepEqual([shown.connected, shown.reconnect_required], [false, true]);
  assert.equal(await tokenRow(user.id), null, "nothing stored");
});

Deno.test("two app users sharing one Google account: disconnecting one ends the other's grant", async () => {
  const google = googleEmail("shared");
  const { user: first } = await connectedUser("shared-a", google);
  const { user: second } = await connectedUser("shared-b", google);
  assert.equal((await googleStatus(second.id)).google_account_linked_to_other_users, true);

  assert.equal((await disconnect(first.id)).revoked_at_google, true);
  assert.ok(await tokenRow(second.id), "the other's row is still stored…");

  // …but its grant at Google ended with the first's: its next use finds out.
  await expireAccessToken(second.id);
  const res = await callAsService("calendar-upcoming", { query: { user_id: second.id } });
  const body = await res.json();
  assert.deepEqual([res.status, body.code], [409, "google_reconnect_required"]);
  assert.equal(await tokenRow(second.id), null, "the other's row is gone");
  const shown = await googleStatus(second.id);
  assert.deepEqual([shown.connected, shown.reconnect_required], [false, true]);
});
