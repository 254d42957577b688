/**
 * Push notifications end to end (issue 23), over HTTP against the emulator: a connect opens a
 * channel and takes the first sync token; a change at Google reaches the bot's receiver as a
 * signed google_calendar.events_changed; the push endpoint trusts only a channel's own headers;
 * duplicated, out-of-order and stale pushes change nothing but what they should; the channel
 * dies with the grant. Time is moved in SQL, never by sleeping.
 */

import assert from "node:assert/strict";
import { runPass } from "./support/maintenance.ts";
import {
  activeChannel,
  createEvent,
  deleteEvent,
  push,
  queuedStops,
  receivedChange,
  receivedChanges,
  syncState,
  testChannel,
  watchedUser,
} from "./support/push.ts";
import { client, sql } from "./support/stack.ts";
import { bodies, checkDeliveries, waitFor } from "./support/webhooks.ts";

/** Whether the emulator holds `channelId` on `google`'s calendar as stopped. */
async function emulatorChannel(google: string, channelId: string) {
  const { channels } = await client.emulatorGet(
    `calendar/channels?email=${encodeURIComponent(google)}`,
  ) as { channels: { id: string; stopped: boolean }[] };
  const found = channels.find((c) => c.id === channelId);
  return found ? { stopped: found.stopped } : null;
}

Deno.test("push: a change at Google reaches the bot as events_changed, sent by the emulator's own push", async () => {
  const { user, google } = await watchedUser("push-e2e");
  const id = await createEvent(google, "Dentist");
  const change = await receivedChange(user.id, id);
  assert.equal(change.summary, "Dentist");
  assert.equal(change.status, "confirmed");
  assert.equal(change.resync, false);

  await deleteEvent(google, id);
  await receivedChange(user.id, id, "cancelled");
  await checkDeliveries(user.id);

  const body = JSON.parse(
    (await bodies(user.id)).split("\n").find((b) => b.includes("events_changed"))!,
  );
  assert.deepEqual(Object.keys(body.data.events[0]).sort(), [
    "end",
    "id",
    "recurring_event_id",
    "response_status",
    "start",
    "status",
    "summary",
    "updated",
  ]);
  const [token] = await sql(
    `select sync_token from public.google_calendar_sync_state where user_id = :'u'`,
    { u: user.id },
  );
  assert.ok(token && !(await bodies(user.id)).includes(token), "no sync token in any webhook");
});

Deno.test("push: only a channel's own id, token and resource id are trusted; forgeries change nothing", async () => {
  const { user } = await watchedUser("push-forged");
  const channel = await testChannel(user.id);
  await sql(
    `update public.google_calendar_sync_state set requested_at = null where user_id = :'u'`,
    {
      u: user.id,
    },
  );
  const stopsBefore = (await queuedStops(user.id)).length;
  const forged = [
    { ...channel, token: "guessed" },
    { ...channel, id: crypto.randomUUID() },
    { ...channel, resourceId: "someone-else" },
  ];
  for (const f of forged) {
    assert.deepEqual(await push(f, "exists", 2), { status: 200, outcome: "ignored" });
  }
  assert.deepEqual(await push(channel, "exists", 2, { "x-goog-message-number": "two" }), {
    status: 200,
    outcome: "ignored",
  });
  assert.equal((await syncState(user.id))?.due, false, "no sync requested");
  assert.equal((await queuedStops(user.id)).length, stopsBefore, "no stop queued");
  assert.deepEqual(await push(channel, "sync", 1), { status: 200, outcome: "hello" });
  assert.equal((await syncState(user.id))?.due, false, "the hello requests nothing");
});

Deno.test("push: duplicated and out-of-order pushes deliver each change at least once, in order", async () => {
  const { user, google } = await watchedUser("push-dup");
  const channel = await testChannel(user.id);
  const first = await createEvent(google, "Standup");
  // Google's messages may repeat and arrive out of order; the sync reads state, not messages.
  const answers = await Promise.all([5, 3, 5, 4, 3].map((n) => push(channel, "exists", n)));
  assert.ok(answers.every((a) => a.status === 200));
  assert.ok(answers.some((a) => a.outcome === "queued"), JSON.stringify(answers));
  await receivedChange(user.id, first);
  const second = await createEvent(google, "Lunch");
  await push(channel, "exists", 2); // an older message number than any before
  await receivedChange(user.id, second);

  const changes = await receivedChanges(user.id);
  assert.deepEqual(
    changes.filter((c) => c.id === first || c.id === second).map((c) => c.summary),
    ["Standup", "Lunch"],
    "each change once here, in the order it happened",
  );
  await checkDeliveries(user.id);
});

Deno.test("push: a push for a channel just replaced queues no sync, and its stop only once", async () => {
  const { user } = await watchedUser("push-replaced");
  const old = await testChannel(user.id);
  await testChannel(user.id); // a renewal: `old` is replaced, its stop queued
  await sql(
    `update public.google_calendar_sync_state set requested_at = null where user_id = :'u'`,
    {
      u: user.id,
    },
  );
  for (const n of [7, 8, 9]) {
    assert.deepEqual(await push(old, "exists", n), { status: 200, outcome: "replaced" });
  }
  assert.equal((await syncState(user.id))?.due, false);
  const stops = (await queuedStops(user.id)).filter((s) => s.channel === old.id);
  assert.equal(stops.length, 1);
});

Deno.test("push: the channel is stopped at Google when the person disconnects", async () => {
  const { user, google } = await watchedUser("push-disconnect");
  const channel = await activeChannel(user.id);
  await client.disconnect(user.id);
  // Stopped before the revocation (after it, no token could): nothing left to queue.
  assert.deepEqual(await emulatorChannel(google, channel!), { stopped: true });
  assert.deepEqual(await queuedStops(user.id), []);
  assert.equal(await activeChannel(user.id), undefined);
  assert.equal(await syncState(user.id), null, "the sync state goes with the grant");
});

Deno.test("push: a grant deleted by any other path (invalid_grant, RISC, SQL) queues the stop; the pass sends it", async () => {
  const { user, google } = await watchedUser("push-sqldelete");
  const channel = await activeChannel(user.id);
  await sql(`delete from public.google_calendar_tokens where user_id = :'u'`, { u: user.id });
  assert.deepEqual(
    (await queuedStops(user.id)).map((s) => [s.channel, s.cause]),
    [[channel, "grant_deleted"]],
  );
  const { report } = await runPass(client);
  assert.ok(report.tasks.push.stopped >= 1, JSON.stringify(report.tasks.push));
  assert.deepEqual(await queuedStops(user.id), []);
  assert.deepEqual(await emulatorChannel(google, channel!), { stopped: true });
});

Deno.test("push: a reconnect to another Google account stops the old account's channel and opens a new one", async () => {
  const { user } = await watchedUser("push-switch");
  const old = await activeChannel(user.id);
  const other = `other-${crypto.randomUUID().slice(0, 8)}@gmail.test`;
  const answer = await client.connectFully(user, other);
  assert.equal(answer.result, "connected");
  assert.ok(
    (await queuedStops(user.id)).some((s) => s.channel === old && s.cause === "account_changed"),
  );
  const fresh = await waitFor("the new account's channel", async () => {
    const id = await activeChannel(user.id);
    return id && id !== old ? id : undefined;
  });
  assert.notEqual(fresh, old);
});
