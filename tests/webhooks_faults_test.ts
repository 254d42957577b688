/**
 * Lifecycle webhooks under faults: the receiver down, answering 500 or 410, or too slow; a
 * function that died right after its commit; a runner killed mid-batch; two runners at once. In
 * every case nothing is lost, every event arrives at least once, a duplicate keeps its
 * `webhook-id`, and per user the events arrive in order. Time is moved by making rows due in
 * SQL, never by sleeping.
 */

import assert from "node:assert/strict";
import { createAdminClient } from "../supabase/functions/_google_calendar/supabase_admin.ts";
import { webhookBacklog } from "../supabase/functions/_google_calendar/webhook_delivery.ts";
import { config, consentedFlow, expectCallback } from "./support/flows.ts";
import { createUser, sql, stack } from "./support/stack.ts";
import type { TestUser } from "./support/stack_client.ts";
import {
  checkDeliveries,
  deliveries,
  makeDue,
  outbox,
  runner,
  setFault,
  settledOutbox,
  waitFor,
} from "./support/webhooks.ts";

const db = createAdminClient(config.supabaseUrl, { key: config.adminKey, timeoutMs: 10_000 });

/**
 * Queues a connect_failed event for `user` through the RPC the callback uses, and makes no
 * first attempt: exactly what the outbox holds when the function dies right after its commit.
 */
async function commitOnly(user: TestUser, reason = "google_scope_missing"): Promise<void> {
  const { data, error } = await db.rpc("google_calendar_record_connect_failure", {
    p_user_id: user.id,
    p_result: "partial",
    p_reason: reason,
    p_webhooks: true,
  });
  assert.equal(error, null);
  assert.equal(data, true);
}

/** The webhook ids the receiver answered 2xx for, once each, in arrival order. */
async function deliveredIds(userId: string): Promise<string[]> {
  return await checkDeliveries(userId);
}

Deno.test("webhooks faults: 500 → retried later with the same webhook-id, and order holds", async () => {
  const user = await createUser("wh-500");
  await setFault(user.id, { status: 500, times: 1 });
  const flow = await consentedFlow({ user });
  await expectCallback(flow.callbackUrl, { result: "connected" });
  const [first] = await settledOutbox(user.id, 1);
  assert.equal(first!.delivered, false);
  assert.equal(first!.lastError, "http_500");
  // A later event of the same user waits behind the failed one.
  await commitOnly(user);
  const early = await runner({ userId: user.id });
  assert.equal(early.claimed, 0, "nothing is due: the head backs off, the next waits for it");
  await makeDue(user.id);
  const report = await runner({ userId: user.id });
  assert.equal(report.delivered, 2);
  const got = await deliveries(user.id);
  assert.deepEqual(got.map((d) => d.answered), [500, 204, 204]);
  assert.equal(got[0]!.headers["webhook-id"], got[1]!.headers["webhook-id"], "same id on retry");
  const rows = await outbox(user.id);
  assert.deepEqual(await deliveredIds(user.id), rows.map((r) => r.webhookId));
});

Deno.test("webhooks faults: receiver down → connection_failed, delivered once it is back", async () => {
  const user = await createUser("wh-down");
  await commitOnly(user);
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const downUrl = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}/webhooks`;
  closed.close();
  const down = await runner({ userId: user.id, url: downUrl });
  assert.deepEqual([down.claimed, down.retried, down.errors], [1, 1, { connection_failed: 1 }]);
  assert.equal((await outbox(user.id))[0]!.lastError, "connection_failed");
  await makeDue(user.id);
  assert.equal((await runner({ userId: user.id })).delivered, 1);
  assert.equal((await deliveredIds(user.id)).length, 1);
});

Deno.test("webhooks faults: a receiver slower than the timeout → retried, the same id twice", async () => {
  const user = await createUser("wh-slow");
  await commitOnly(user);
  await setFault(user.id, { delay_ms: 1500, times: 1 });
  const slow = await runner({ userId: user.id, timeoutMs: 200 });
  assert.deepEqual([slow.retried, slow.errors], [1, { timeout: 1 }]);
  await makeDue(user.id);
  assert.equal((await runner({ userId: user.id })).delivered, 1);
  // The slow receiver did process the first attempt late: the bot sees a duplicate, same id.
  const got = await waitFor("the late first attempt", async () => {
    const all = await deliveries(user.id);
    return all.length >= 2 ? all : undefined;
  });
  assert.equal(got[0]!.headers["webhook-id"], got[1]!.headers["webhook-id"]);
  assert.equal((await deliveredIds(user.id)).length, 1);
});

Deno.test("webhooks faults: 410 stops that event at once; the user's next event still goes", async () => {
  const user = await createUser("wh-410");
  await commitOnly(user, "first");
  await commitOnly(user, "second");
  await setFault(user.id, { status: 410, times: 1 });
  const report = await runner({ userId: user.id });
  assert.deepEqual([report.gone, report.delivered], [1, 1]);
  const rows = await outbox(user.id);
  assert.deepEqual(rows.map((r) => [r.dead, r.delivered, r.lastError]), [
    [true, false, "gone"],
    [false, true, null],
  ]);
  assert.equal((await runner({ userId: user.id })).claimed, 0, "a gone event is not retried");
  const backlog = await webhookBacklog(db);
  assert(backlog.deadLetters >= 1, "dead letters are visible in the backlog view");
});

Deno.test("webhooks faults: retries end after 24 h: dead-lettered and visible", async () => {
  const user = await createUser("wh-dead");
  await commitOnly(user);
  await sql(
    "update public.google_calendar_webhook_events set created_at = now() - interval '25 hours' where user_id = :'id'",
    { id: user.id },
  );
  await setFault(user.id, { status: 503, times: 1 });
  const report = await runner({ userId: user.id });
  assert.deepEqual([report.dead, report.retried], [1, 0]);
  const [row] = await outbox(user.id);
  assert.deepEqual([row!.dead, row!.lastError], [true, "http_503"]);
});

Deno.test("webhooks faults: the operator's backlog shows what waits and why", async () => {
  const user = await createUser("wh-backlog");
  await commitOnly(user);
  await setFault(user.id, { status: 500, times: 1 });
  await runner({ userId: user.id });
  const backlog = await webhookBacklog(db);
  assert(backlog.undelivered >= 1);
  assert(backlog.oldestUndeliveredAgeSeconds !== null && backlog.oldestUndeliveredAgeSeconds >= 0);
  assert.equal(typeof backlog.lastError, "string");
  await makeDue(user.id);
  await runner({ userId: user.id });
});

Deno.test("webhooks faults: a function that died right after its commit: the runner delivers", async () => {
  const user = await createUser("wh-killed-fn");
  await commitOnly(user);
  assert.equal((await outbox(user.id))[0]!.attempts, 0, "no first attempt was made");
  const report = await runner({ userId: user.id });
  assert.equal(report.delivered, 1);
  assert.equal((await deliveredIds(user.id)).length, 1);
});

Deno.test("webhooks faults: a runner killed mid-batch: its leases lapse, nothing is lost", async () => {
  const users = await Promise.all(Array.from({ length: 6 }, () => createUser("wh-killed-runner")));
  for (const user of users) {
    await commitOnly(user);
    await setFault(user.id, { delay_ms: 2000, times: 1 });
  }
  const worker = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "tests/support/webhook_runner_worker.ts",
      "1000",
      "16",
      users.map((u) => u.id).join(","),
    ],
    env: { STACK_FILE: `${stack.stack_dir}/stack.json` },
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Killed while it holds every one of these events, its POSTs in flight.
  await waitFor("the runner to lease all six", async () => {
    const rows = (await Promise.all(users.map((u) => outbox(u.id)))).flat();
    return rows.every((r) => r.leased) ? rows : undefined;
  });
  worker.kill("SIGKILL");
  await worker.status;
  const ids = users.map((u) => u.id);
  // As if the lease time had passed.
  await sql(
    `update public.google_calendar_webhook_events set lease_until = now() - interval '1 second'
     where user_id::text = any(string_to_array(:'ids', ','))`,
    { ids: ids.join(",") },
  );
  for (const user of users) await runner({ userId: user.id });
  for (const user of users) {
    const [row] = await outbox(user.id);
    assert.equal(row!.delivered, true);
    assert.equal((await deliveredIds(user.id)).length, 1);
    // What the killed runner sent may have arrived too: then with the same id.
    const seen = new Set((await deliveries(user.id)).map((d) => d.headers["webhook-id"]));
    assert.deepEqual([...seen], [row!.webhookId]);
  }
});

Deno.test("webhooks faults: two runners at once: each event once, per-user order holds", async () => {
  const users = await Promise.all(Array.from({ length: 12 }, () => createUser("wh-two-runners")));
  for (let round = 0; round < 3; round++) {
    for (const user of users) await commitOnly(user, `reason_${round}`);
  }
  const [a, b] = await Promise.all([
    runner({ concurrency: 4, limit: 10_000 }),
    runner({ concurrency: 4, limit: 10_000 }),
  ]);
  assert.equal(a.lostLease + b.lostLease, 0);
  for (const user of users) {
    const rows = await outbox(user.id);
    assert(rows.every((r) => r.delivered), "all delivered");
    const got = await deliveries(user.id);
    assert.equal(got.length, 3, "each event exactly once: no runner claimed another's event");
    assert.deepEqual(
      got.map((d) => JSON.parse(d.body).data.reason),
      ["reason_0", "reason_1", "reason_2"],
      "in order",
    );
    await checkDeliveries(user.id);
  }
});
