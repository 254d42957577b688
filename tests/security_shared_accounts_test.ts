/**
 * Revoking any token at Google ends that Google account's whole grant to us. So nothing revokes
 * an account some stored grant still holds: not a disconnect while another app user is linked to
 * it, not a queued revocation once the user reconnected it, not a refused wrong-account consent.
 * A grant replaced by another account's is revoked like a deleted one; a disconnect cancels the
 * user's unused links; a callback that is not Google's answer leaves the link usable.
 * On a private stack (its own maintenance passes, no timer).
 */

import assert from "node:assert/strict";
import { lazyPrivateStack, type PrivateStack } from "./support/private_stack.ts";
import {
  liveRefreshTokens,
  makeRevocationsDue,
  queuedRevocations,
  runPass,
} from "./support/maintenance.ts";
import { googleEmail } from "./support/stack_client.ts";

const privateStack = lazyPrivateStack("shared-accounts", {});
const opts = { sanitizeResources: false, sanitizeOps: false };

/** calendar-upcoming after the access token expired: a refresh at Google, then the API. */
async function refreshWorks(s: PrivateStack, userId: string): Promise<number> {
  await s.expireAccessToken(userId);
  const res = await s.callAsService("calendar-upcoming", { query: { user_id: userId } });
  await res.body?.cancel();
  return res.status;
}

Deno.test({
  name: "shared Google account: a disconnect revokes nothing while another user holds it",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const google = googleEmail("shared");
    const { user: first } = await s.connectedUser("shared-a", google);
    const { user: second } = await s.connectedUser("shared-b", google);

    const gone = await s.disconnect(first.id);
    assert.deepEqual(
      [gone.was_connected, gone.revoked_at_google, gone.google_account_shared],
      [true, false, true],
    );
    assert.equal(await queuedRevocations(s, first.id), 1, "kept for when nobody holds it");
    assert.equal(await refreshWorks(s, second.id), 200, "the other's grant lives on");

    await makeRevocationsDue(s);
    const pass = await runPass(s);
    assert.equal(pass.report.tasks.revocations.still_linked, 1);
    assert.equal(pass.report.tasks.revocations.revoked, 0);
    assert.equal(await queuedRevocations(s, first.id), 0, "dropped, not revoked");
    assert.equal(await refreshWorks(s, second.id), 200, "still alive after the pass");

    // The last holder's disconnect revokes the grant at Google.
    const last = await s.disconnect(second.id);
    assert.deepEqual([last.revoked_at_google, last.google_account_shared], [true, false]);
    assert.equal(await liveRefreshTokens(s, google), 0);
  },
});

Deno.test({
  name: "a queued revocation never ends the grant the same user reconnected meanwhile",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const google = googleEmail("requeue");
    const { user } = await s.connectedUser("requeue", google);
    await s.fault("revoke", "500");
    const gone = await s.disconnect(user.id);
    await s.clearFaults();
    assert.equal(gone.revoked_at_google, false);
    assert.equal(await queuedRevocations(s, user.id), 1, "queued: Google failed");

    // "Reconnect here": the same Google account again.
    const again = await s.connectFully(user, google);
    assert.equal(again.result, "connected");
    await makeRevocationsDue(s);
    const pass = await runPass(s);
    assert.equal(pass.report.tasks.revocations.still_linked, 1);
    assert.equal(await refreshWorks(s, user.id), 200, "the new grant works");
    assert.ok(await liveRefreshTokens(s, google) > 0);
  },
});

Deno.test({
  name: "reconnecting to another Google account queues the replaced account's revocation",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const before = googleEmail("before");
    const after = googleEmail("after");
    const { user } = await s.connectedUser("switch", before);
    assert.equal((await s.connectFully(user, after)).result, "connected");
    const [cause] = await s.sql(
      `select cause from public.google_calendar_revocations where user_id = :'id'`,
      { id: user.id },
    );
    assert.equal(cause, "replaced");

    await makeRevocationsDue(s);
    const pass = await runPass(s);
    assert.ok(pass.report.tasks.revocations.revoked >= 1);
    assert.equal(await liveRefreshTokens(s, before), 0, "the old account's grant is revoked");
    assert.equal(await refreshWorks(s, user.id), 200, "the new account's grant works");

    // The same account again: its old refresh token is not queued (revoking it ends the new).
    assert.equal((await s.connectFully(user, after)).result, "connected");
    assert.equal(await queuedRevocations(s, user.id), 0);
  },
});

Deno.test({
  name: "a wrong-account consent revokes nothing when that account is already linked",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const mine = googleEmail("mine");
    const { user } = await s.connectedUser("wrong-pick", mine);
    const live = await liveRefreshTokens(s, mine);

    // The bot expects another account; the person picks the one already connected.
    const { status, body } = await s.callJson("google-connect", {
      body: { user_id: user.id, expected_google_email: googleEmail("expected") },
    });
    assert.equal(status, 200);
    const answer = await s.callback(
      await s.consent(new URL(body.auth_url as string), { email: mine }),
    );
    assert.deepEqual([answer.result, answer.reason], ["error", "google_account_mismatch"]);
    assert.equal(await liveRefreshTokens(s, mine), live, "nothing revoked at Google");
    assert.equal(await refreshWorks(s, user.id), 200, "the stored grant still works");
  },
});

Deno.test({
  name: "a disconnect cancels the user's unused consent link",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const user = await s.createUser("cancel");
    const link = await s.connectUrl(user.id);
    const gone = await s.disconnect(user.id);
    assert.equal(gone.was_connected, false);
    const answer = await s.callback(await s.consent(link, { email: googleEmail("cancel") }));
    assert.deepEqual([answer.result, answer.reason], ["expired", "flow_not_found"]);
    assert.equal((await s.googleStatus(user.id)).connected, false);
  },
});

Deno.test({
  name: "a callback with the link's state but no answer from Google leaves the link usable",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const user = await s.createUser("no-code");
    const link = await s.connectUrl(user.id);
    const bare = new URL(s.info.functions_url + "/google-callback");
    bare.searchParams.set("state", link.searchParams.get("state")!);
    const refused = await s.callback(bare);
    assert.equal(refused.status, 400);
    const [events] = await s.sql(
      `select count(*) from public.google_calendar_webhook_events where user_id = :'id'`,
      { id: user.id },
    );
    assert.equal(events, "0", "no connect_failed: nothing was verified or used up");
    const answer = await s.callback(await s.consent(link, { email: googleEmail("no-code") }));
    assert.equal(answer.result, "connected");
  },
});

Deno.test({
  name: "shared-accounts private stack: stop",
  ...opts,
  async fn() {
    await privateStack.stop();
  },
});
