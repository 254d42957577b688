/**
 * Lifecycle webhooks, event by event, against the stack and its receiver: what each change
 * queues (in the change's own transaction) and what the bot receives, verified with
 * `standardwebhooks` unchanged. The first attempt is the functions' own, in the background.
 */

import assert from "node:assert/strict";
import {
  config,
  consentedFlow,
  decryptedRow,
  expectCallback,
  signState,
  stateClaims,
  withParam,
} from "./support/flows.ts";
import {
  callAsService,
  callback,
  connectedUser,
  connectUrl,
  consent,
  createUser,
  emulatorControl,
  expireAccessToken,
  googleEmail,
  sql,
} from "./support/stack.ts";
import {
  bodies,
  checkDeliveries,
  deliveredAll,
  outbox,
  runner,
  webhooks,
} from "./support/webhooks.ts";

const CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar.events";

/** Nothing secret in anything the bot got for `userId`. */
async function assertNoSecrets(userId: string, secrets: string[]): Promise<void> {
  const text = await bodies(userId);
  for (const secret of [...secrets, webhooks.secret, webhooks.secret.slice(6)]) {
    assert(!text.includes(secret), "no token, code, state or secret in a body");
  }
}

Deno.test("webhooks: connect delivers google_calendar.connected, signed, without secrets", async () => {
  const flow = await consentedFlow({ prefix: "wh-connect" });
  await expectCallback(flow.callbackUrl, { result: "connected" });
  const row = (await decryptedRow(flow.user.id))!;
  const got = await deliveredAll(flow.user.id, 1);
  const [event] = await outbox(flow.user.id);
  assert.equal(event!.type, "google_calendar.connected");
  assert.equal(event!.delivered, true);
  const body = JSON.parse(got.find((d) => d.answered < 300)!.body);
  assert.equal(body.type, "google_calendar.connected");
  assert.match(body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(Object.keys(body.data).sort(), [
    "google_account_linked_to_other_users",
    "google_email",
    "google_sub",
    "reconnected",
    "scopes",
    "user_id",
  ]);
  assert.equal(body.data.user_id, flow.user.id);
  assert.equal(body.data.google_email, flow.google);
  assert.equal(body.data.google_sub, row.googleSub);
  assert.equal(body.data.reconnected, false);
  assert.equal(body.data.google_account_linked_to_other_users, false);
  assert(body.data.scopes.includes(CALENDAR_SCOPE));
  await checkDeliveries(flow.user.id);
  await assertNoSecrets(flow.user.id, [
    row.accessToken,
    row.refreshToken,
    row.ciphertexts.refresh,
    flow.state,
    flow.callbackUrl.searchParams.get("code")!,
  ]);
});

Deno.test("webhooks: a second consent says reconnected, and a shared Google account says so", async () => {
  const google = googleEmail("wh-shared");
  const { user } = await connectedUser("wh-reconnect", google);
  const flow = await consentedFlow({ user, google });
  await expectCallback(flow.callbackUrl, { result: "connected" });
  const other = await connectedUser("wh-other", google);
  const mine = (await deliveredAll(user.id, 2)).filter((d) => d.answered < 300);
  const second = JSON.parse(mine.at(-1)!.body);
  assert.equal(second.data.reconnected, true);
  await deliveredAll(other.user.id, 1);
  const [theirs] = await outbox(other.user.id);
  assert.equal(theirs!.payload.data.google_account_linked_to_other_users, true);
  assert.deepEqual((await checkDeliveries(user.id)).length, 2);
});

Deno.test("webhooks: consent declined or calendar unticked → connect_failed with result and reason", async () => {
  for (
    const [prefix, answer, result, reason] of [
      ["wh-denied", { action: "cancel" as const }, "denied", "consent_denied"],
      ["wh-partial", { uncheck: [CALENDAR_SCOPE] as string[] }, "partial", "google_scope_missing"],
    ] as const
  ) {
    const user = await createUser(prefix);
    const authUrl = await connectUrl(user.id);
    const callbackUrl = await consent(authUrl, { email: googleEmail(), ...answer });
    await expectCallback(callbackUrl, { result, reason });
    const got = await deliveredAll(user.id, 1);
    const body = JSON.parse(got.find((d) => d.answered < 300)!.body);
    assert.deepEqual(body.type, "google_calendar.connect_failed");
    assert.deepEqual(body.data, { user_id: user.id, result, reason });
    await checkDeliveries(user.id);
  }
});

Deno.test("webhooks: a forged or replayed callback queues no event", async () => {
  const flow = await consentedFlow({ prefix: "wh-forged" });
  const claims = stateClaims(flow.state);
  // Signed with another key: not our state, so no user is known and nothing is queued.
  const forged = await signState(claims, { secret: crypto.getRandomValues(new Uint8Array(32)) });
  await callback(withParam(flow.callbackUrl, "state", [forged]));
  // A made-up flow id for this user, signed by us: no pending flow, so still no event.
  const unknown = await signState(
    { ...claims, jti: crypto.randomUUID() } as Parameters<typeof signState>[0],
  );
  await callback(withParam(flow.callbackUrl, "state", [unknown]));
  assert.deepEqual(await outbox(flow.user.id), []);
  await expectCallback(flow.callbackUrl, { result: "connected" });
  // The replay finds its flow used up: "expired", and no connect_failed either.
  await expectCallback(flow.callbackUrl, { result: "expired" });
  assert.deepEqual((await outbox(flow.user.id)).map((r) => r.type), ["google_calendar.connected"]);
});

Deno.test("webhooks: google-disconnect → disconnected, cause disconnect, revoked_at_google", async () => {
  const { user } = await connectedUser("wh-disconnect");
  const res = await callAsService("google-disconnect", { body: { user_id: user.id } });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const got = (await deliveredAll(user.id, 2)).filter((d) => d.answered < 300);
  const last = JSON.parse(got.at(-1)!.body);
  assert.equal(last.type, "google_calendar.disconnected");
  assert.equal(last.data.cause, "disconnect");
  assert.equal(last.data.revoked_at_google, true);
  assert.equal(typeof last.data.google_email, "string");
  await checkDeliveries(user.id);
});

Deno.test("webhooks: a user deleted from auth.users, or the row deleted by hand → disconnected", async () => {
  const deleted = await connectedUser("wh-user-deleted");
  const manual = await connectedUser("wh-manual");
  await sql("delete from auth.users where id = :'id'", { id: deleted.user.id });
  await sql("delete from public.google_calendar_tokens where user_id = :'id'", {
    id: manual.user.id,
  });
  // No function ran: the rows were queued by the trigger, and a runner delivers them.
  for (const [user, cause] of [[deleted.user, "user_deleted"], [manual.user, "deleted"]] as const) {
    const rows = await outbox(user.id);
    const event = rows.at(-1)!;
    assert.equal(event.type, "google_calendar.disconnected");
    assert.equal(event.payload.data.cause, cause);
    assert.equal(event.payload.data.revoked_at_google, false);
  }
  for (const user of [deleted.user, manual.user]) await runner({ userId: user.id });
  for (const user of [deleted.user, manual.user]) {
    assert.equal((await deliveredAll(user.id, 2)).length >= 2, true);
    assert.equal((await checkDeliveries(user.id)).length, 2);
  }
});

Deno.test("webhooks: invalid_grant at refresh → reconnect_required then disconnected", async () => {
  const { user, google } = await connectedUser("wh-invalid-grant");
  await emulatorControl("accounts/revoke", { email: google });
  await expireAccessToken(user.id);
  const res = await callAsService("calendar-upcoming", { query: { user_id: user.id } });
  await res.body?.cancel();
  const got = (await deliveredAll(user.id, 3)).filter((d) => d.answered < 300);
  const types = got.map((d) => JSON.parse(d.body).type);
  assert.deepEqual(types, [
    "google_calendar.connected",
    "google_calendar.reconnect_required",
    "google_calendar.disconnected",
  ]);
  const [, required, disconnected] = got.map((d) => JSON.parse(d.body));
  assert.equal(required.data.reason, "google_reconnect_required");
  assert.equal(disconnected.data.cause, "reconnect_required");
  assert.equal(disconnected.data.revoked_at_google, false);
  await checkDeliveries(user.id);
  assert.equal(config.webhooks?.url, webhooks.url);
});
