/**
 * Push notifications under faults (issue 23): Google 500 or 429 during a sync, a 410 sync token,
 * a sync that dies between Google's answer and the save, two syncs at once, a renewal that fails,
 * the bot's receiver down for an hour. In every case each change reaches the bot at least once,
 * with a stable webhook id, in order per user. Time is moved in SQL, never by sleeping.
 */

import assert from "node:assert/strict";
import { runPass } from "./support/maintenance.ts";
import {
  activeChannel,
  createEvent,
  push,
  receivedChange,
  receivedChanges,
  syncState,
  testChannel,
  watchedUser,
} from "./support/push.ts";
import { client, sql } from "./support/stack.ts";
import { checkDeliveries, makeDue, outbox, runner, setFault, waitFor } from "./support/webhooks.ts";

/** Makes `userId`'s backed-off sync due now (as if the backoff had passed). */
async function syncDueNow(userId: string): Promise<void> {
  await sql(
    `update public.google_calendar_sync_state set requested_at = now(), lease_until = null
     where user_id = :'u' and requested_at is not null`,
    { u: userId },
  );
}

/** Waits until the user's sync failed with `code`. */
function syncFailed(userId: string, code: string) {
  return waitFor(`a failed sync (${code})`, async () => {
    const state = await syncState(userId);
    return state?.lastError === code && !state.leased ? state : undefined;
  });
}

Deno.test("push faults: Google 500 during a sync backs off, then the next pass delivers the change", async () => {
  const { user, google } = await watchedUser("pushf-500");
  const channel = await testChannel(user.id);
  const id = await createEvent(google, "Dentist");
  // googleFetch tries an events.list three times on 5xx: all three fail.
  await client.fault("events", "500", { count: 3 });
  await push(channel, "exists", 2);
  const state = await syncFailed(user.id, "google_unavailable");
  assert.equal(state.due, true, "still due, after a backoff");
  assert.equal((await receivedChanges(user.id)).some((c) => c.id === id), false);
  await syncDueNow(user.id);
  const { report } = await runPass(client);
  assert.ok(report.tasks.push.syncs_changed >= 1, JSON.stringify(report.tasks.push));
  await receivedChange(user.id, id);
  await checkDeliveries(user.id);
});

Deno.test("push faults: a 429 keeps Google's Retry-After, then the change arrives", async () => {
  const { user, google } = await watchedUser("pushf-429");
  const channel = await testChannel(user.id);
  const id = await createEvent(google, "Call Bob");
  await client.fault("events", "rateLimitExceeded", { count: 1, retryAfterSeconds: 120 });
  await push(channel, "exists", 2);
  await syncFailed(user.id, "google_rate_limited");
  const [wait] = await sql(
    `select extract(epoch from requested_at - now())::int from public.google_calendar_sync_state
     where user_id = :'u'`,
    { u: user.id },
  );
  assert.ok(Number(wait) > 100 && Number(wait) <= 120, `waits as Google said: ${wait} s`);
  await syncDueNow(user.id);
  await runPass(client);
  await receivedChange(user.id, id);
});

Deno.test("push faults: an invalidated sync token (410) gives a full resync marked resync", async () => {
  const { user, google } = await watchedUser("pushf-410");
  const channel = await testChannel(user.id);
  const before = await createEvent(google, "Before");
  await push(channel, "exists", 2);
  await receivedChange(user.id, before);
  await client.emulatorControl("calendar/sync-tokens/invalidate", { email: google });
  const after = await createEvent(google, "After");
  await push(channel, "exists", 3);
  const change = await waitFor(
    "the resync",
    async () => (await receivedChanges(user.id)).find((c) => c.id === after && c.resync),
  );
  assert.equal(change.summary, "After");
  const resynced = (await receivedChanges(user.id)).filter((c) => c.resync).map((c) => c.id);
  assert.ok(resynced.includes(before), "the resync lists the whole calendar");
  // The new token works: the next change is incremental again.
  const next = await createEvent(google, "Next");
  await push(channel, "exists", 4);
  assert.equal((await receivedChange(user.id, next)).resync, false);
  await checkDeliveries(user.id);
});

Deno.test("push faults: a sync that dies between Google's answer and the save loses nothing", async () => {
  const { user, google } = await watchedUser("pushf-kill");
  const channel = await testChannel(user.id);
  const trigger = `push_test_refuse_${user.id.replaceAll("-", "").slice(0, 12)}`;
  // The save fails as a killed function's would never happen: nothing of it is written.
  await sql(`create or replace function public.push_test_refuse_save() returns trigger
    language plpgsql set search_path = '' as $$ begin raise exception 'test: save refused'; end $$`);
  await sql(
    `create trigger ${trigger} before update of sync_token on public.google_calendar_sync_state
    for each row when (new.user_id = '${user.id}') execute function public.push_test_refuse_save()`,
  );
  try {
    const id = await createEvent(google, "Dentist");
    await push(channel, "exists", 2);
    // Read at Google, then the save refused: the lease is held by a syncer that is gone.
    await waitFor("the refused save", async () => {
      const state = await syncState(user.id);
      return state?.leased && state.attempts >= 1 ? true : undefined;
    });
    assert.equal((await outbox(user.id)).some((r) => r.type.endsWith("events_changed")), false);
    await sql(`drop trigger ${trigger} on public.google_calendar_sync_state`);
    // The lease lapses (as a dead function's does); the pass syncs again.
    await syncDueNow(user.id);
    await runPass(client);
    await receivedChange(user.id, id);
    await checkDeliveries(user.id);
  } finally {
    await sql(`drop trigger if exists ${trigger} on public.google_calendar_sync_state`);
    await sql(`drop function if exists public.push_test_refuse_save()`);
  }
});

Deno.test("push faults: two syncs for one user at once: one runs, the other claims nothing", async () => {
  const { user, google } = await watchedUser("pushf-twice");
  await testChannel(user.id); // the emulator's pushes now reach a replaced channel: ignored
  const id = await createEvent(google, "Twice");
  await sql(
    `update public.google_calendar_sync_state set requested_at = now() where user_id = :'u'`,
    {
      u: user.id,
    },
  );
  const [a, b] = await Promise.all([runPass(client), runPass(client)]);
  assert.equal(
    a.report.tasks.push.syncs_claimed + b.report.tasks.push.syncs_claimed,
    1,
    "one sync claimed",
  );
  await receivedChange(user.id, id);
  assert.equal((await receivedChanges(user.id)).filter((c) => c.id === id).length, 1);
});

Deno.test("push faults: a failed renewal keeps the old channel serving; the next pass renews", async () => {
  const { user, google } = await watchedUser("pushf-renew");
  const first = await activeChannel(user.id);
  const renewNow = () =>
    sql(`update public.google_calendar_channels set renew_at = now() where id = :'c'`, {
      c: first!,
    });
  await renewNow();
  await client.fault("events", "500", { count: 1 });
  const failed = await runPass(client);
  assert.equal(
    failed.report.tasks.push.renewals_failed,
    1,
    JSON.stringify(failed.report.tasks.push),
  );
  assert.equal(await activeChannel(user.id), first, "the old channel still serves");
  const served = await createEvent(google, "Still heard");
  await receivedChange(user.id, served);

  await renewNow();
  const renewed = await runPass(client);
  assert.equal(renewed.report.tasks.push.renewed, 1, JSON.stringify(renewed.report.tasks.push));
  const second = await activeChannel(user.id);
  assert.notEqual(second, first);
  const id = await createEvent(google, "Heard on the new channel");
  await receivedChange(user.id, id);
  await checkDeliveries(user.id);
});

Deno.test("push faults: the bot's receiver down for an hour: every change arrives after, same webhook id", async () => {
  const { user, google } = await watchedUser("pushf-down");
  const channel = await testChannel(user.id);
  await setFault(user.id, { status: 503 });
  try {
    const ids = [await createEvent(google, "One")];
    await push(channel, "exists", 2);
    await waitFor("a failed attempt", async () => {
      const rows = (await outbox(user.id)).filter((r) => r.type.endsWith("events_changed"));
      return rows.length >= 1 && rows[0]!.attempts >= 1 && !rows[0]!.leased ? rows : undefined;
    });
    ids.push(await createEvent(google, "Two"));
    await push(channel, "exists", 3);
    await waitFor("the second change queued", async () => {
      const rows = (await outbox(user.id)).filter((r) => r.type.endsWith("events_changed"));
      return rows.length >= 2 ? rows : undefined;
    });
    // An hour of retries, compressed: each backoff made due at once, the receiver still down.
    for (let i = 0; i < 4; i++) {
      await makeDue(user.id);
      await runner({ userId: user.id });
    }
    assert.equal((await receivedChanges(user.id)).length, 0);
    await setFault(user.id, {});
    await makeDue(user.id);
    await runner({ userId: user.id });
    for (const id of ids) await receivedChange(user.id, id);
    const firsts = await checkDeliveries(user.id);
    const rows = (await outbox(user.id)).filter((r) => r.type.endsWith("events_changed"));
    assert.ok(rows.every((r) => r.delivered && firsts.includes(r.webhookId)));
    assert.ok(rows[0]!.attempts >= 5, "the first event was retried under one webhook id");
  } finally {
    await setFault(user.id, {});
  }
});
