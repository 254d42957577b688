/**
 * Issue 16, item 4, over real HTTP: revoking at Google ends the app's grant for that Google
 * account, remembered scopes included. A reconnect with the calendar box unticked is then
 * partial. (Two app users sharing one Google account share one grant: so a disconnect revokes
 * only the last one's; see security_shared_accounts_test.ts.)
 */

import assert from "node:assert/strict";
import { CALENDAR_SCOPE } from "../supabase/functions/_google_calendar/google_facts.ts";
import {
  callback,
  client,
  connectedUser,
  connectUrl,
  consent,
  disconnect,
  googleStatus,
  type TestUser,
  tokenRow,
} from "./support/stack.ts";

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
