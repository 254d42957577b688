/**
 * Lifecycle webhooks in tests: the stack's receiver (what it got, faults per user), the outbox
 * rows, a runner like the scheduled one, and the checks every test makes: each delivery verifies
 * with `standardwebhooks` unchanged, and per user the events arrive in the outbox's order.
 */

import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { createAdminClient } from "../../supabase/functions/_google_calendar/supabase_admin.ts";
import {
  deliverDue,
  type DeliverOptions,
  type DeliveryReport,
} from "../../supabase/functions/_google_calendar/webhook_delivery.ts";
import type { ReceivedDelivery, ReceiverFault } from "../../local/stack/webhook_receiver.ts";
import { config } from "./flows.ts";
import { sql } from "./stack.ts";

/** The stack's webhook settings (its own receiver). */
export const webhooks = (() => {
  if (!config.webhooks) throw new Error("the stack under test has no BOT_WEBHOOK_URL");
  return config.webhooks;
})();

const db = createAdminClient(config.supabaseUrl, { key: config.adminKey, timeoutMs: 10_000 });

function receiverUrl(path: string): URL {
  return new URL(path, webhooks.url);
}

/** Everything the receiver got for `userId`, in arrival order. */
export async function deliveries(userId: string): Promise<ReceivedDelivery[]> {
  const res = await fetch(receiverUrl(`/__test/deliveries?user_id=${userId}`));
  return await res.json();
}

/** Makes the receiver misbehave for `userId`'s deliveries ({} clears it). */
export async function setFault(userId: string, fault: ReceiverFault): Promise<void> {
  const res = await fetch(receiverUrl("/__test/faults"), {
    method: "POST",
    body: JSON.stringify({ user_id: userId, ...fault }),
  });
  await res.body?.cancel();
}

/** One outbox row, as the test reads it. */
export interface OutboxRow {
  id: string;
  webhookId: string;
  type: string;
  attempts: number;
  delivered: boolean;
  dead: boolean;
  leased: boolean;
  lastError: string | null;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
}

/** `userId`'s outbox rows in order. */
export async function outbox(userId: string): Promise<OutboxRow[]> {
  const rows = await sql(
    `select json_build_object('id', id, 'type', type, 'attempts', attempts,
       'delivered', delivered_at is not null, 'dead', dead_at is not null,
       'leased', lease_id is not null and lease_until > now(), 'last_error', last_error,
       'payload', payload)
     from public.google_calendar_webhook_events where user_id = :'id' order by seq`,
    { id: userId },
  );
  return rows.map((r) => {
    const o = JSON.parse(r);
    return {
      id: o.id,
      webhookId: "msg_" + o.id.replaceAll("-", ""),
      type: o.type,
      attempts: o.attempts,
      delivered: o.delivered,
      dead: o.dead,
      leased: o.leased,
      lastError: o.last_error,
      payload: o.payload,
    };
  });
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until `userId` has `n` rows, none leased, each attempted at least once. */
export function settledOutbox(userId: string, n: number): Promise<OutboxRow[]> {
  return waitFor(`${n} settled events for ${userId}`, async () => {
    const rows = await outbox(userId);
    const head = rows.find((r) => !r.delivered && !r.dead);
    const quiet = rows.every((r) => !r.leased) && (!head || head.attempts > 0);
    return rows.length >= n && quiet ? rows : undefined;
  });
}

/** Waits until all of `userId`'s `n` events were delivered (2xx); returns the deliveries. */
export async function deliveredAll(userId: string, n: number): Promise<ReceivedDelivery[]> {
  await waitFor(`${n} delivered events for ${userId}`, async () => {
    const rows = await outbox(userId);
    return rows.length >= n && rows.every((r) => r.delivered || r.dead) ? rows : undefined;
  });
  return await deliveries(userId);
}

/** Makes `userId`'s pending events due now (as if the backoff had passed). */
export async function makeDue(userId?: string): Promise<void> {
  await sql(
    `update public.google_calendar_webhook_events set next_attempt_at = now()
     where delivered_at is null and dead_at is null
       and (:'id' = '' or user_id::text = :'id')`,
    { id: userId ?? "" },
  );
}

/** A runner, as the schedule runs it. */
export function runner(
  options: Partial<DeliverOptions> & { url?: string; timeoutMs?: number } = {},
): Promise<DeliveryReport> {
  const { url, timeoutMs, ...rest } = options;
  return deliverDue(
    { db, webhooks: { ...webhooks, ...(url ? { url } : {}) }, timeoutMs: timeoutMs ?? 5_000 },
    { limit: 1000, deadline: Date.now() + 30_000, ...rest },
  );
}

/**
 * Every delivery verifies with `standardwebhooks` unchanged; its body is the outbox row's
 * payload; and the 2xx-answered ones, per user, follow the outbox's order. Returns the
 * delivered webhook ids in arrival order (first delivery of each).
 */
export async function checkDeliveries(userId: string): Promise<string[]> {
  const got = await deliveries(userId);
  const rows = await outbox(userId);
  const byId = new Map(rows.map((r) => [r.webhookId, r]));
  const verifier = new Webhook(webhooks.secret);
  for (const d of got) {
    assert.equal(d.verified, true, "the receiver verified it");
    const event = verifier.verify(d.body, d.headers);
    const row = byId.get(d.headers["webhook-id"]);
    assert(row, "every webhook-id is an outbox event's");
    assert.deepEqual(event, row.payload, "the body is the event");
  }
  const firsts: string[] = [];
  for (const d of got) {
    if (d.answered >= 200 && d.answered < 300 && !firsts.includes(d.headers["webhook-id"])) {
      firsts.push(d.headers["webhook-id"]);
    }
  }
  const order = rows.map((r) => r.webhookId).filter((id) => firsts.includes(id));
  assert.deepEqual(firsts, order, "per user, events are delivered in order");
  return firsts;
}

/** The text of every body the receiver got for `userId`. */
export async function bodies(userId: string): Promise<string> {
  return (await deliveries(userId)).map((d) => d.body).join("\n");
}

/**
 * Queues a connect_failed event for `userId` through the RPC the callback uses, with no first
 * attempt: what the outbox holds when a function dies right after its commit.
 */
export async function queueConnectFailure(userId: string, reason = "google_scope_missing") {
  const { data, error } = await db.rpc("google_calendar_record_connect_failure", {
    p_user_id: userId,
    p_result: "partial",
    p_reason: reason,
    p_webhooks: true,
  });
  assert.equal(error, null);
  assert.equal(data, true);
}
