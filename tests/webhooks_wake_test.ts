/**
 * Events written outside the functions reach the bot within seconds of their commit: the
 * `google_calendar_webhook_wake` trigger wakes google-webhooks (pg_net in production; the stack's
 * listener plays pg_net here), with no maintenance pass (the test stack runs none at all).
 */

import assert from "node:assert/strict";
import {
  callAsService,
  connectedUser,
  createUser,
  sql,
  stack,
  userToken,
} from "./support/stack.ts";
import { deliveries, waitFor } from "./support/webhooks.ts";

Deno.test("webhooks: a user deleted by SQL reaches the bot as disconnected, woken by the database", async () => {
  const { user } = await connectedUser("wake-deleted");
  // The connect's own event first, so the disconnected one is the head when it is written.
  await waitFor(
    "the connected event",
    async () => (await deliveries(user.id)).length > 0 || undefined,
  );
  await sql("delete from auth.users where id = :'id'", { id: user.id });
  // Well before any maintenance interval (300 s): nothing but the wake-up delivers it here.
  const got = await waitFor("the disconnected event", async () => {
    const bodies = (await deliveries(user.id)).filter((d) => d.answered < 300)
      .map((d) => JSON.parse(d.body));
    return bodies.find((b) => b.type === "google_calendar.disconnected");
  }, 60_000);
  assert.equal(got.data.cause, "user_deleted");
});

Deno.test("google-webhooks: the service credentials only, POST only", async () => {
  const user = await createUser("wake-callers");
  const asUser = await fetch(`${stack.functions_url}/google-webhooks`, {
    method: "POST",
    headers: { authorization: `Bearer ${await userToken(user.id)}` },
  });
  await asUser.body?.cancel();
  assert.equal(asUser.status, 401);
  const asService = await callAsService("google-webhooks", { method: "POST" });
  const report = await asService.json();
  assert.equal(asService.status, 200);
  assert.equal(typeof report.claimed, "number");
});
