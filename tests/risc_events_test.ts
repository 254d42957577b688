/**
 * Cross-Account Protection end to end (issue 24): risc:register configures the emulator's
 * stream, the emulator signs each event type as Google does and POSTs it to google-risc, and
 * the bot receives the webhook each one causes. Two app users sharing one Google account are
 * both handled; a SET signed by a rotated-in key is accepted without a restart.
 */

import assert from "node:assert/strict";
import { RISC_REQUESTED_EVENTS } from "../supabase/functions/_google_calendar/risc_facts.ts";
import { botEvents, emit, registerStream, RISC_URL, riscStream } from "./support/risc.ts";
import {
  connectedUser,
  emulatorControl,
  functionLogs,
  sql,
  stack,
  tokenRow,
} from "./support/stack.ts";
import { outbox, waitFor } from "./support/webhooks.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Types of the events after `connected`, as the bot received them. */
async function afterConnected(userId: string, n: number) {
  const events = await botEvents(userId, n + 1);
  assert.equal(events[0]!.type, "google_calendar.connected");
  return events.slice(1);
}

async function queuedRevocations(userId: string): Promise<number> {
  const [n] = await sql(
    `select count(*) from public.google_calendar_revocations where user_id = :'id'`,
    { id: userId },
  );
  return Number(n);
}

Deno.test({
  name: "risc:register configures the stream, and Google's verification event is logged",
  ...opts,
  async fn() {
    const command = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "local/bin/risc_register.ts", "--stack", `${stack.stack_dir}/stack.json`],
      stdout: "piped",
      stderr: "piped",
    });
    const out = await command.output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const state = text.match(/state=\\"(risc-verify-[0-9a-f-]+)\\"/)?.[1];
    assert.ok(state, text);

    const { stream } = await riscStream();
    assert.equal(stream?.url, RISC_URL);
    assert.deepEqual([...stream!.eventsRequested].sort(), [...RISC_REQUESTED_EVENTS].sort());
    await waitFor(
      "the verification state in google-risc's log",
      async () =>
        (await functionLogs()).includes(`verification state="${state}"`) ? true : undefined,
    );
  },
});

Deno.test({
  name: "tokens-revoked: the grant is deleted, the bot gets reconnect_required",
  ...opts,
  async fn() {
    await registerStream();
    const { user, google } = await connectedUser("risc-tokens");
    assert.equal((await emit({ email: google, event_type: "tokens-revoked" })).status, 202);
    assert.equal(await tokenRow(user.id), null, "the grant is gone");
    const events = await afterConnected(user.id, 2);
    assert.deepEqual(events.map((e) => e.type), [
      "google_calendar.reconnect_required",
      "google_calendar.disconnected",
    ]);
    assert.deepEqual(events[0]!.data, {
      user_id: user.id,
      google_email: google,
      reason: "google_tokens_revoked",
    });
    assert.equal(events[1]!.data.cause, "reconnect_required");
    assert.equal(events[1]!.data.revoked_at_google, true, "Google already revoked them");
    assert.equal(await queuedRevocations(user.id), 0, "nothing left to revoke");
  },
});

Deno.test({
  name: "token-revoked for the account: the grant is deleted, reconnect_required",
  ...opts,
  async fn() {
    await registerStream();
    const { user, google } = await connectedUser("risc-token");
    assert.equal((await emit({ email: google, event_type: "token-revoked" })).status, 202);
    assert.equal(await tokenRow(user.id), null);
    const [required] = await afterConnected(user.id, 2);
    assert.equal(required!.data.reason, "google_tokens_revoked");
  },
});

Deno.test({
  name: "token-revoked naming a token by its hash: accepted, the grant is left to its refresh",
  ...opts,
  async fn() {
    await registerStream();
    const { user, google } = await connectedUser("risc-token-hash");
    const sent = await emit({
      email: google,
      event_type: "token-revoked",
      subject_type: "oauth_token",
    });
    assert.equal(sent.status, 202);
    assert.notEqual(await tokenRow(user.id), null, "no stored token is matched by hash");
    assert.deepEqual((await outbox(user.id)).map((r) => r.type), ["google_calendar.connected"]);
  },
});

Deno.test({
  name: "account-disabled (hijacking): deleted, reconnect_required with Google's reason",
  ...opts,
  async fn() {
    await registerStream();
    const { user, google } = await connectedUser("risc-disabled");
    const sent = await emit({ email: google, event_type: "account-disabled", reason: "hijacking" });
    assert.equal(sent.status, 202);
    assert.equal(await tokenRow(user.id), null);
    const [required, disconnected] = await afterConnected(user.id, 2);
    assert.deepEqual(required!.data, {
      user_id: user.id,
      google_email: google,
      reason: "google_account_disabled",
      google_reason: "hijacking",
    });
    assert.equal(disconnected!.type, "google_calendar.disconnected");
    assert.equal(await queuedRevocations(user.id), 1, "our refresh token is revoked later");
  },
});

Deno.test({
  name: "account-disabled naming the account by id_token_claims (sub and email): acted on too",
  ...opts,
  async fn() {
    await registerStream();
    const { user, google } = await connectedUser("risc-id-claims");
    const sent = await emit({
      email: google,
      event_type: "account-disabled",
      subject_type: "id_token_claims",
    });
    assert.equal(sent.status, 202);
    assert.equal(await tokenRow(user.id), null);
    const [required] = await afterConnected(user.id, 2);
    assert.equal(required!.data.reason, "google_account_disabled");
  },
});

for (
  const [eventType, reason] of [
    ["account-enabled", "google_account_enabled"],
    ["sessions-revoked", "google_sessions_revoked"],
    ["account-credential-change-required", "google_credential_change_required"],
  ] as const
) {
  Deno.test({
    name: `${eventType}: the grant is kept, the bot gets security_notice ${reason}`,
    ...opts,
    async fn() {
      await registerStream();
      const { user, google } = await connectedUser(`risc-${eventType.slice(0, 12)}`);
      const before = await tokenRow(user.id);
      assert.equal((await emit({ email: google, event_type: eventType })).status, 202);
      const [notice] = await afterConnected(user.id, 1);
      assert.equal(notice!.type, "google_calendar.security_notice");
      assert.deepEqual(notice!.data, {
        user_id: user.id,
        google_email: google,
        google_sub: before!.google_sub,
        reason,
      });
      assert.deepEqual(await tokenRow(user.id), before, "the grant is untouched");
    },
  });
}

Deno.test({
  name: "an unknown event type is accepted and ignored",
  ...opts,
  async fn() {
    await registerStream();
    const { user, google } = await connectedUser("risc-unknown");
    const before = await tokenRow(user.id);
    const sent = await emit({
      email: google,
      event_type: "https://schemas.openid.net/secevent/risc/event-type/account-purged",
    });
    assert.equal(sent.status, 202);
    assert.deepEqual(await tokenRow(user.id), before);
    assert.deepEqual((await outbox(user.id)).map((r) => r.type), ["google_calendar.connected"]);
  },
});

Deno.test({
  name: "two app users sharing one Google account: an account-disabled ends both grants",
  ...opts,
  async fn() {
    await registerStream();
    const { user: first, google } = await connectedUser("risc-shared-a");
    const { user: second } = await connectedUser("risc-shared-b", google);
    const { user: bystander } = await connectedUser("risc-shared-c");
    const sent = await emit({
      email: google,
      event_type: "account-disabled",
      reason: "bulk-account",
    });
    assert.equal(sent.status, 202);
    for (const user of [first, second]) {
      assert.equal(await tokenRow(user.id), null, `${user.email}'s grant is gone`);
      const [required] = await afterConnected(user.id, 2);
      assert.equal(required!.data.google_reason, "bulk-account");
    }
    assert.notEqual(await tokenRow(bystander.id), null, "another account is untouched");
  },
});

Deno.test({
  name: "two app users sharing one Google account: sessions-revoked warns both",
  ...opts,
  async fn() {
    await registerStream();
    const { user: first, google } = await connectedUser("risc-warn-a");
    const { user: second } = await connectedUser("risc-warn-b", google);
    const sub = (await tokenRow(first.id))!.google_sub as string;
    assert.equal((await emit({ sub, event_type: "sessions-revoked" })).status, 202);
    for (const user of [first, second]) {
      const [notice] = await afterConnected(user.id, 1);
      assert.equal(notice!.data.reason, "google_sessions_revoked");
      assert.notEqual(await tokenRow(user.id), null);
    }
  },
});

Deno.test({
  name: "JWKS rotation: a SET signed by a new key is accepted without a restart",
  ...opts,
  async fn() {
    await registerStream();
    const { user, google } = await connectedUser("risc-rotation");
    assert.equal((await emit({ email: google, event_type: "sessions-revoked" })).status, 202);
    // Google publishes the new key beside the old one, then drops the old one.
    for (const dropOld of [false, true]) {
      await emulatorControl("risc/rotate", { drop_old: dropOld });
      // An unknown kid refetches the JWKS at most once per cooldown: a forged SET just before
      // may have used it, so this waits for the state rather than a time.
      await waitFor("a SET under the new key accepted", async () => {
        const sent = await emit({ email: google, event_type: "sessions-revoked" });
        return sent.status === 202 ? sent : undefined;
      }, 60_000);
    }
    const notices = await afterConnected(user.id, 3);
    assert.deepEqual(notices.map((e) => e.type), Array(3).fill("google_calendar.security_notice"));
    assert.notEqual(await tokenRow(user.id), null);
  },
});
