/**
 * google-maintenance, task by task, on a private stack (outbound calls time out after 1 s,
 * webhooks on so events are queued): who may call it, keep-alive and its outcomes, time-limited
 * grants (expiring once, expired without Google), the revocation queue from every delete path,
 * housekeeping, the Google-call budget, and a misconfigured OAuth client.
 */

import assert from "node:assert/strict";
import { lazyPrivateStack, waitUntil } from "./support/private_stack.ts";
import {
  connectedUsers,
  eventData,
  eventTypes,
  functionVariant,
  grantState,
  liveRefreshTokens,
  maintenanceVariant,
  makeDue,
  makeRevocationsDue,
  queuedRevocations,
  runPass,
} from "./support/maintenance.ts";

const BOT_API_KEY = "c1f0e3a9b7d54e2f8a6b0c9d1e7f3a5b";
const privateStack = lazyPrivateStack("maintenance-pass", {
  functionEnv: {
    HTTP_TIMEOUT_MS: "1000",
    BOT_API_KEYS: BOT_API_KEY,
    BOT_WEBHOOK_URL: "http://127.0.0.1:9/webhook",
    BOT_WEBHOOK_SECRET: "whsec_" +
      btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))),
  },
});
const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "google-maintenance takes POST with the service key only",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const url = `${s.info.functions_url}/google-maintenance`;
    const user = await s.createUser("caller");
    const answers: Record<string, number> = {};
    const call = async (name: string, init: RequestInit) => {
      const res = await fetch(url, init);
      await res.body?.cancel();
      answers[name] = res.status;
    };
    await call("no credentials", { method: "POST" });
    await call("a user's token", {
      method: "POST",
      headers: { authorization: `Bearer ${await s.userToken(user.id)}` },
    });
    await call("a bot API key", {
      method: "POST",
      headers: { authorization: `Bearer ${BOT_API_KEY}` },
    });
    await call("the anon key", {
      method: "POST",
      headers: { authorization: `Bearer ${s.info.anon_key}` },
    });
    await call("GET with the service key", {
      headers: { authorization: `Bearer ${s.info.service_role_key}` },
    });
    assert.deepEqual(answers, {
      "no credentials": 401,
      "a user's token": 401,
      "a bot API key": 401,
      "the anon key": 401,
      "GET with the service key": 405,
    });
    const { status, report } = await runPass(s);
    assert.equal(status, 200);
    assert.equal(report.ok, true);
    assert.deepEqual(report.errors, []);
    assert.equal(report.google_calls.budget, 200, "the default budget");
    assert.equal(typeof report.database.ms, "number");
    assert.ok("oldest_refresh_token_used_at" in report.due, "what is due next");
    assert.equal(report.keys.current, "local-1");
    assert.ok(report.tasks.housekeeping.webhooks, "due webhook events were delivered (or tried)");
  },
});

Deno.test({
  name: "keep-alive refreshes only grants unused for KEEPALIVE_DAYS, once, under the lease",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const [due, fresh] = await connectedUsers(s, "keepalive", 2);
    await makeDue(s, [due!.user.id], 31);
    await makeDue(s, [fresh!.user.id], 29);
    const before = {
      due: await grantState(s, due!.user.id),
      fresh: await grantState(s, fresh!.user.id),
    };
    const refreshes = await s.refreshGrants("ok");

    const { status, report } = await runPass(s);
    assert.equal(status, 200);
    assert.equal(report.tasks.keepalive.refreshed, 1);
    assert.equal(report.google_calls.used, 1);
    assert.equal(await s.refreshGrants("ok") - refreshes, 1, "one refresh at Google");
    assert.notEqual(await grantState(s, due!.user.id), before.due, "the due grant was refreshed");
    assert.equal(await grantState(s, fresh!.user.id), before.fresh, "the fresh one untouched");
    const [usedAgo, lease] = (await s.sql(
      `select extract(epoch from now() - refresh_token_used_at)::int || ' ' ||
              coalesce(refresh_lease_id::text, 'none')
         from public.google_calendar_tokens where user_id = :'id'`,
      { id: due!.user.id },
    ))[0]!.split(" ");
    assert.ok(Number(usedAgo) < 60, "refresh_token_used_at is now");
    assert.equal(lease, "none", "the lease was let go");
    const row = await s.decryptedRow(due!.user.id);
    assert.ok(row, "still decrypts");

    const again = await runPass(s);
    assert.equal(again.report.tasks.keepalive.claimed, 0, "nothing is due any more");
  },
});

Deno.test({
  name: "rows no refresh can help, oldest at the front, do not starve the grants behind them",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    // Twelve rows that do not decrypt (more than one claim's worth), older than a good one.
    const users = await connectedUsers(s, "stuck", 13);
    const [good, ...stuck] = users.map((u) => u.user.id);
    await makeDue(s, stuck, 60);
    await makeDue(s, [good!], 40);
    await s.sql(
      `update public.google_calendar_tokens set refresh_token = access_token
        where user_id = any (string_to_array(:'ids', ',')::uuid[])`,
      { ids: stuck.join(",") },
    );
    const before = await grantState(s, good!);

    const { report } = await runPass(s);
    assert.equal(report.tasks.keepalive.skipped, 12, "each stuck row tried once");
    assert.equal(report.tasks.keepalive.refreshed, 1, "and the good grant behind them too");
    assert.notEqual(await grantState(s, good!), before);
    // Out of the later tests' way (a delete would queue revocations).
    await makeDue(s, stuck, 0);
  },
});

Deno.test({
  name: "keep-alive on a grant Google dropped deletes it with reconnect_required and disconnected",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const { user, google } = await s.connectedUser("dropped");
    await s.emulatorControl("accounts/revoke", { email: google });
    await makeDue(s, [user.id]);
    const { report } = await runPass(s);
    assert.equal(report.tasks.keepalive.reconnect_required, 1);
    assert.equal(await s.tokenRow(user.id), null, "the row went");
    assert.deepEqual((await eventTypes(s, user.id)).slice(-2), [
      "google_calendar.reconnect_required",
      "google_calendar.disconnected",
    ]);
    assert.equal(
      (await eventData(s, user.id, "google_calendar.reconnect_required"))?.reason,
      "google_reconnect_required",
    );
    assert.equal(await queuedRevocations(s, user.id), 0, "nothing left to revoke");
  },
});

Deno.test({
  name: "a time-limited grant: expiring is emitted once, then the lapsed grant goes without Google",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const { user } = await s.connectedUser("timelimited");
    await s.sql(
      `update public.google_calendar_tokens set refresh_token_expires_at = now() + interval '47 hours'
        where user_id = :'id'`,
      { id: user.id },
    );
    const first = await runPass(s);
    assert.equal(first.report.tasks.expiring.notified, 1);
    const second = await runPass(s);
    assert.equal(second.report.tasks.expiring.notified, 0, "once per grant");
    const expiring = (await eventTypes(s, user.id)).filter((t) => t === "google_calendar.expiring");
    assert.equal(expiring.length, 1);
    assert.ok((await eventData(s, user.id, "google_calendar.expiring"))?.refresh_token_expires_at);

    await s.sql(
      `update public.google_calendar_tokens set refresh_token_expires_at = now() - interval '1 minute'
        where user_id = :'id'`,
      { id: user.id },
    );
    const calls = (await s.stats()).tokenGrants.refresh_token;
    const { report } = await runPass(s);
    assert.equal(report.tasks.expired.deleted, 1);
    // Its push channel is stopped (one call with its last access token); nothing else.
    assert.equal(
      report.google_calls.used,
      report.tasks.push.stopped,
      "no Google call for a lapsed grant but its channel's stop",
    );
    assert.deepEqual((await s.stats()).tokenGrants.refresh_token, calls);
    assert.equal(await s.tokenRow(user.id), null);
    assert.equal(
      (await eventData(s, user.id, "google_calendar.reconnect_required"))?.reason,
      "google_grant_expired",
    );
    assert.equal(await queuedRevocations(s, user.id), 0, "a lapsed grant needs no revoke");
  },
});

Deno.test({
  name: "a grant Google issued time-limited: status shows its end, expiring, then gone on time",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await s.emulatorControl("clients/grant-lifetime", { seconds: 6 });
    let user;
    try {
      ({ user } = await s.connectedUser("emulatorlimited"));
    } finally {
      await s.emulatorControl("clients/grant-lifetime", { seconds: null });
    }
    const body = await s.googleStatus(user.id);
    const endsIn = Date.parse(body.refresh_token_expires_at as string) - Date.now();
    assert.ok(endsIn > 0 && endsIn <= 6000, `google-status shows the end (${endsIn} ms away)`);
    const first = await runPass(s);
    assert.equal(first.report.tasks.expiring.notified, 1, "expiring, 48 h ahead at most");
    const calls = (await s.stats()).tokenGrants.refresh_token;
    await waitUntil(
      "the lapsed grant deleted by a pass",
      async () => {
        await runPass(s);
        return await s.tokenRow(user.id) === null;
      },
      15_000,
      250,
    );
    assert.deepEqual((await s.stats()).tokenGrants.refresh_token, calls, "no call to Google");
    assert.equal(
      (await eventData(s, user.id, "google_calendar.reconnect_required"))?.reason,
      "google_grant_expired",
    );
  },
});

Deno.test({
  name: "a disconnect whose revoke failed is revoked by a later pass",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const { user, google } = await s.connectedUser("revokefail");
    await s.fault("revoke", "500");
    const { status, body } = await s.callJson("google-disconnect", { body: { user_id: user.id } });
    assert.equal(status, 200);
    assert.equal(body.revoked_at_google, false);
    assert.equal(await queuedRevocations(s, user.id), 1, "queued");
    assert.equal(await liveRefreshTokens(s, google), 1, "still live at Google");
    const [plain] = await s.sql(
      `select count(*) from public.google_calendar_revocations
        where user_id = :'id' and refresh_token like '1//%'`,
      { id: user.id },
    );
    assert.equal(plain, "0", "never plaintext in the queue");

    const { report } = await runPass(s);
    assert.equal(report.tasks.revocations.revoked, 1);
    assert.equal(await queuedRevocations(s, user.id), 0, "settled");
    assert.equal(await liveRefreshTokens(s, google), 0, "revoked at Google");
  },
});

Deno.test({
  name: "a revoke that fails during a pass stays queued with backoff and succeeds later",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const { user, google } = await s.connectedUser("revokeretry");
    await s.sql(`delete from public.google_calendar_tokens where user_id = :'id'`, { id: user.id });
    assert.equal(await queuedRevocations(s, user.id), 1, "manual SQL delete queues");
    await s.fault("revoke", "timeout", { delayMs: 5000 });
    const first = await runPass(s);
    assert.equal(first.report.tasks.revocations.retried, 1);
    const [later] = await s.sql(
      `select (next_attempt_at > now())::text || ' ' || attempts || ' ' || coalesce(last_error, '')
         from public.google_calendar_revocations where user_id = :'id'`,
      { id: user.id },
    );
    assert.equal(later, "true 1 google_unavailable", "backed off");
    const skipped = await runPass(s);
    assert.equal(skipped.report.tasks.revocations.claimed, 0, "not due during its backoff");
    await makeRevocationsDue(s);
    const { report } = await runPass(s);
    assert.equal(report.tasks.revocations.revoked, 1);
    assert.equal(await queuedRevocations(s, user.id), 0);
    assert.equal(await liveRefreshTokens(s, google), 0);
  },
});

Deno.test({
  name: "deleting the user from auth.users queues the grant, and a pass revokes it",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const { user, google } = await s.connectedUser("userdeleted");
    await s.sql(`delete from auth.users where id = :'id'`, { id: user.id });
    assert.equal(await queuedRevocations(s, user.id), 1);
    assert.equal(
      (await eventData(s, user.id, "google_calendar.disconnected"))?.cause,
      "user_deleted",
    );
    const { report } = await runPass(s);
    assert.equal(report.tasks.revocations.revoked, 1);
    assert.equal(await liveRefreshTokens(s, google), 0);
    assert.equal(await queuedRevocations(s, user.id), 0);
  },
});

Deno.test({
  name: "a queued token Google already forgot is settled as already invalid",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const { user, google } = await s.connectedUser("forgotten");
    await s.emulatorControl("accounts/revoke", { email: google });
    await s.sql(`delete from public.google_calendar_tokens where user_id = :'id'`, { id: user.id });
    const { report } = await runPass(s);
    assert.equal(report.tasks.revocations.already_invalid, 1);
    assert.equal(await queuedRevocations(s, user.id), 0);
  },
});

Deno.test({
  name:
    "a consent landing while its Google account is revoked is tested, never left dead (finding 3)",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    // A's grant deleted: its refresh token queued for revocation, the account linked to no one.
    const { user: a, google } = await s.connectedUser("revoked-under");
    await s.sql(`delete from public.google_calendar_tokens where user_id = :'id'`, { id: a.id });
    await makeRevocationsDue(s);
    // Google takes 6 s to revoke (and then does): time for B to consent with the same account.
    const variant = await maintenanceVariant(s, { HTTP_TIMEOUT_MS: "15000" }, "slow-revoke");
    try {
      await s.fault("revoke", "slow", { delayMs: 6000 });
      const pass = variant.pass();
      await waitUntil(
        "the revoke in flight",
        async () => (await s.stats()).faultsPending.revoke === 0,
      );
      const b = await s.createUser("revoked-under-b");
      const answer = await s.connectFully(b, google);
      assert.equal(answer.result, "connected");
      const { report } = await pass;
      // Either the check saw B (the entry dropped, nothing revoked), or the revoke ended B's new
      // grant too and the pass found it: a refresh test, reconnect_required, the row gone.
      // Never a row whose grant Google no longer honours.
      const row = await s.tokenRow(b.id);
      if (row) {
        assert.ok(await liveRefreshTokens(s, google) > 0, "B's stored grant still works");
      } else {
        assert.equal(report.tasks.revocations.ended_by_revoke, 1);
        assert.ok((await eventTypes(s, b.id)).includes("google_calendar.reconnect_required"));
      }
    } finally {
      await s.clearFaults();
      await variant.stop();
    }
  },
});

Deno.test({
  name: "a consent landing while google-disconnect revokes its account is tested by the next pass",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const { user: a, google } = await s.connectedUser("disconnect-under");
    // Google takes 6 s to revoke (and then does): time for B to consent with the same account.
    const disconnect = await functionVariant(
      s,
      "google-disconnect",
      { HTTP_TIMEOUT_MS: "15000" },
      "slow-revoke",
    );
    try {
      await s.fault("revoke", "slow", { delayMs: 6000 });
      const answer = fetch(disconnect.url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${s.info.service_role_key}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ user_id: a.id }),
      }).then((res) => res.json());
      await waitUntil(
        "the revoke in flight",
        async () => (await s.stats()).faultsPending.revoke === 0,
      );
      const b = await s.createUser("disconnect-under-b");
      assert.equal((await s.connectFully(b, google)).result, "connected");
      assert.equal((await answer).revoked_at_google, true);
      // The next pass's keep-alive tests B's grant first: ended by the revoke → reconnect_required.
      await runPass(s);
      const row = await s.tokenRow(b.id);
      if (row) {
        assert.ok(await liveRefreshTokens(s, google) > 0, "B's stored grant still works");
      } else {
        assert.ok((await eventTypes(s, b.id)).includes("google_calendar.reconnect_required"));
      }
    } finally {
      await s.clearFaults();
      await disconnect.stop();
    }
  },
});

Deno.test({
  name: "housekeeping purges expired pending flows and old delivered events",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const user = await s.createUser("housekeeping");
    await s.connectUrl(user.id);
    await s.sql(
      `update public.google_oauth_pending_flows set expires_at = now() - interval '1 minute'
        where user_id = :'id'`,
      { id: user.id },
    );
    await s.sql(
      `insert into public.google_calendar_webhook_events (user_id, type, payload, created_at,
         delivered_at)
       values (:'id', 'google_calendar.disconnected', '{}'::jsonb, now() - interval '9 days',
         now() - interval '8 days')`,
      { id: user.id },
    );
    const { report } = await runPass(s);
    assert.ok(report.tasks.housekeeping.flows_purged >= 1);
    assert.ok(report.tasks.housekeeping.webhooks_purged >= 1);
    assert.equal(await s.pendingFlowCount(user.id), 0);
    assert.deepEqual(await eventTypes(s, user.id), []);
  },
});

Deno.test({
  name: "housekeeping keeps what is inside its retention: delivered 1 day, dead 10 days (M11, S7)",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const user = await s.createUser("retention");
    // Delivered: kept 7 days (WEBHOOK_RETENTION_DAYS). Dead letters: kept 30 days.
    await s.sql(
      `insert into public.google_calendar_webhook_events (user_id, type, payload, created_at,
         delivered_at, dead_at)
       values
         (:'id', 'google_calendar.connected', '{"n":"delivered 1 day"}', now() - interval '1 day',
          now() - interval '1 day', null),
         (:'id', 'google_calendar.connected', '{"n":"delivered 8 days"}', now() - interval '8 days',
          now() - interval '8 days', null),
         (:'id', 'google_calendar.connected', '{"n":"dead 10 days"}', now() - interval '11 days',
          null, now() - interval '10 days'),
         (:'id', 'google_calendar.connected', '{"n":"dead 31 days"}', now() - interval '32 days',
          null, now() - interval '31 days')`,
      { id: user.id },
    );
    await runPass(s);
    const left = await s.sql(
      `select payload ->> 'n' from public.google_calendar_webhook_events where user_id = :'id'
        order by 1`,
      { id: user.id },
    );
    assert.deepEqual(left, ["dead 10 days", "delivered 1 day"]);
  },
});

Deno.test({
  name: "housekeeping purges a backlog beyond one batch in one pass, to its deadline",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const user = await s.createUser("purge-backlog");
    await s.sql(
      `insert into public.google_calendar_webhook_events (user_id, type, payload, created_at,
         delivered_at)
       select :'id', 'google_calendar.connected', '{}', now() - interval '9 days',
         now() - interval '8 days' from generate_series(1, 2500)`,
      { id: user.id },
    );
    const { report } = await runPass(s);
    assert.ok(report.tasks.housekeeping.webhooks_purged >= 2500, "not 1,000 and stop");
    assert.deepEqual(await eventTypes(s, user.id), []);
  },
});

Deno.test({
  name: "a pass makes no more Google calls than MAINTENANCE_GOOGLE_CALL_BUDGET; the rest waits",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const users = await connectedUsers(s, "budget", 5);
    const variant = await maintenanceVariant(s, { MAINTENANCE_GOOGLE_CALL_BUDGET: "3" }, "budget");
    try {
      await makeDue(s, users.map((u) => u.user.id));
      const refreshes = await s.refreshGrants("ok");
      const first = await variant.pass();
      assert.equal(first.report.google_calls.used, 3);
      assert.equal(first.report.tasks.keepalive.refreshed, 3);
      assert.ok(first.report.stopped_early.includes("keepalive: google call budget"));
      const second = await variant.pass();
      assert.equal(second.report.tasks.keepalive.refreshed, 2, "the rest in the next pass");
      assert.equal(await s.refreshGrants("ok") - refreshes, 5, "each grant refreshed once");
    } finally {
      await variant.stop();
    }
  },
});

Deno.test({
  name: "revocations use at most half the Google budget; keep-alive still gets its calls (M2)",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const users = await connectedUsers(s, "half-budget", 8);
    const [keep1, keep2, ...deleted] = users;
    const variant = await maintenanceVariant(s, { MAINTENANCE_GOOGLE_CALL_BUDGET: "4" }, "half");
    try {
      // Six queued revocations (more than half the budget) and two grants due for keep-alive.
      await s.sql(
        `delete from public.google_calendar_tokens
          where user_id = any(string_to_array(:'ids', ',')::uuid[])`,
        { ids: deleted.map((u) => u.user.id).join(",") },
      );
      // The deletions also queued their push channels' stops, which share the budget; this test
      // is about revocations against keep-alive, so those stops are dropped (the channels lapse).
      await s.sql(
        `delete from public.google_calendar_channel_stops
          where user_id = any(string_to_array(:'ids', ',')::uuid[])`,
        { ids: deleted.map((u) => u.user.id).join(",") },
      );
      await makeRevocationsDue(s);
      await makeDue(s, [keep1!.user.id, keep2!.user.id]);
      const { report } = await variant.pass();
      const revocationCalls = report.tasks.revocations.revoked +
        report.tasks.revocations.already_invalid + report.tasks.revocations.retried;
      assert.equal(revocationCalls, 2, "half of the budget of 4");
      const keepAliveCalls = report.tasks.keepalive.refreshed +
        report.tasks.keepalive.reconnect_required + report.tasks.keepalive.transient;
      assert.equal(keepAliveCalls, 2, "keep-alive got the other half");
      assert.equal(report.google_calls.used, 4);
      // The rest of the queue in the passes after, two at a time.
      const left = async () =>
        (await Promise.all(deleted.map((u) => queuedRevocations(s, u.user.id))))
          .reduce((a, b) => a + b, 0);
      for (let i = 0; i < 10 && await left() > 0; i++) {
        await makeRevocationsDue(s);
        await variant.pass();
      }
      assert.equal(await left(), 0);
    } finally {
      await variant.stop();
    }
  },
});

Deno.test({
  name:
    "a misconfigured OAuth client stops keep-alive for the pass, deletes nothing, logs an error",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const users = await connectedUsers(s, "misconfigured", 3);
    const ids = users.map((u) => u.user.id);
    const variant = await maintenanceVariant(
      s,
      { GOOGLE_CLIENT_SECRET: "not-the-secret-" + crypto.randomUUID() },
      "misconfigured",
    );
    try {
      await makeDue(s, ids);
      const states = await Promise.all(ids.map((id) => grantState(s, id)));
      const refreshesBefore = await s.refreshGrants();
      const { report } = await variant.pass();
      assert.ok(report.client_misconfigured >= 1);
      assert.equal(report.tasks.keepalive.stopped, "google_client_misconfigured");
      assert.equal(report.tasks.keepalive.refreshed, 0);
      // Counted at Google's token endpoint, since other tasks (channel stops left by earlier tests
      // on this stack) may use the pass's budget: no grant is tried twice, no batch after it.
      assert.ok(await s.refreshGrants() - refreshesBefore <= ids.length, "keep-alive stopped");
      assert.deepEqual(await Promise.all(ids.map((id) => grantState(s, id))), states, "untouched");
      assert.match(await variant.logs(), /google_client_misconfigured/);
      // The right client picks them up.
      const fixed = await runPass(s);
      assert.equal(fixed.report.tasks.keepalive.refreshed, ids.length);
    } finally {
      await variant.stop();
    }
  },
});

Deno.test({
  name: "google-maintenance never logs a token, and the suite stops its stack",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    try {
      const logs = await s.functionLogs();
      assert.ok(logs.length > 0, "the functions' logs are read");
      assert.doesNotMatch(logs, /ya29\.|1\/\/[A-Za-z0-9]/, "no access or refresh token in a log");
    } finally {
      await privateStack.stop();
    }
  },
});
