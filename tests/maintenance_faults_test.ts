/**
 * google-maintenance under faults, on a private stack (outbound calls time out after 2 s, so a
 * keep-alive lease lasts 6 s): Google failing or hanging during a pass, a pass killed midway,
 * two passes at once, and Postgres restarted during a pass. Each ends with every grant still
 * there, refreshed exactly once at Google, and the next pass carrying on.
 */

import assert from "node:assert/strict";
import { lazyPrivateStack, type PrivateStack, waitUntil } from "./support/private_stack.ts";
import {
  connectedUsers,
  grantState,
  makeDue,
  type PassAnswer,
  runPass,
} from "./support/maintenance.ts";

const privateStack = lazyPrivateStack("maintenance-faults", {
  functionEnv: { HTTP_TIMEOUT_MS: "2000" },
});
const opts = { sanitizeResources: false, sanitizeOps: false };

/** Rows of these users still stored. */
async function storedCount(s: PrivateStack, ids: string[]): Promise<number> {
  const [n] = await s.sql(
    `select count(*) from public.google_calendar_tokens
      where user_id = any (string_to_array(:'ids', ',')::uuid[])`,
    { ids: ids.join(",") },
  );
  return Number(n);
}

/** Of these users, how many have a refresh token used within the last minute. */
async function refreshedCount(s: PrivateStack, ids: string[]): Promise<number> {
  const [n] = await s.sql(
    `select count(*) from public.google_calendar_tokens
      where user_id = any (string_to_array(:'ids', ',')::uuid[])
        and refresh_token_used_at > now() - interval '1 minute'`,
    { ids: ids.join(",") },
  );
  return Number(n);
}

/** Passes until every one of `ids` is refreshed; returns the passes' answers. */
async function passUntilRefreshed(s: PrivateStack, ids: string[]): Promise<PassAnswer[]> {
  const answers: PassAnswer[] = [];
  await waitUntil(
    "every grant refreshed by later passes",
    async () => {
      answers.push(await runPass(s));
      return await refreshedCount(s, ids) === ids.length;
    },
    30_000,
    200,
  );
  return answers;
}

Deno.test({
  name: "Google 5xx and timeouts during a pass leave the rows untouched for the next pass",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await s.clearFaults();
    for (const kind of ["500", "timeout"] as const) {
      const users = await connectedUsers(s, `flaky-${kind}`, 3);
      const ids = users.map((u) => u.user.id);
      await makeDue(s, ids);
      const before = await Promise.all(ids.map((id) => grantState(s, id)));
      await s.fault("token", kind, { count: 3, ...(kind === "timeout" ? { delayMs: 5000 } : {}) });
      const { status, report } = await runPass(s);
      assert.equal(status, 200, `${kind}: ${JSON.stringify(report.errors)}`);
      assert.equal(report.tasks.keepalive.transient, 3, `${kind}: three transient failures`);
      assert.equal(report.tasks.keepalive.refreshed, 0, kind);
      assert.deepEqual(
        await Promise.all(ids.map((id) => grantState(s, id))),
        before,
        `${kind}: rows untouched, leases let go`,
      );
      const [errors] = await s.sql(
        `select string_agg(distinct last_refresh_error, ',') from public.google_calendar_tokens
          where user_id = any (string_to_array(:'ids', ',')::uuid[])`,
        { ids: ids.join(",") },
      );
      assert.equal(errors, "google_unavailable", `${kind}: status shows why`);
      const next = await runPass(s);
      assert.equal(next.report.tasks.keepalive.refreshed, 3, `${kind}: retried by the next pass`);
    }
  },
});

Deno.test({
  name: "a pass retries no failed grant itself, and stops when Google fails most calls",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await s.clearFaults();
    const users = await connectedUsers(s, "failonce", 12);
    const ids = users.map((u) => u.user.id);
    await makeDue(s, ids);
    // Two failures among twelve: the two are left for the next pass, not retried in this one.
    await s.fault("token", "500", { count: 2 });
    const some = await runPass(s);
    assert.equal(some.report.google_calls.used, 12, "one call per grant, no retry in the pass");
    assert.equal(some.report.tasks.keepalive.refreshed, 10);
    assert.equal(some.report.tasks.keepalive.transient, 2);
    assert.equal(some.report.tasks.keepalive.claimed, 12, "each claimed once in the pass");
    const rest = await runPass(s);
    assert.equal(rest.report.tasks.keepalive.refreshed, 2, "the next pass takes them");

    // Google failing everything: the pass stops after a batch instead of spending its budget.
    await makeDue(s, ids);
    await s.fault("token", "500", { count: 50 });
    const states = await Promise.all(ids.map((id) => grantState(s, id)));
    const failing = await runPass(s);
    await s.clearFaults();
    assert.equal(failing.report.tasks.keepalive.stopped, "google_unavailable");
    assert.equal(failing.report.google_calls.used, 10, "one batch, then stop");
    assert.deepEqual(await Promise.all(ids.map((id) => grantState(s, id))), states, "untouched");
    const after = await runPass(s);
    assert.equal(after.report.tasks.keepalive.refreshed, 12);
  },
});

Deno.test({
  name: "a pass killed midway loses no row, and nobody refreshes its grants until its lease lapses",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await s.clearFaults();
    const users = await connectedUsers(s, "killed", 4);
    const ids = users.map((u) => u.user.id);
    await makeDue(s, ids);
    const fn = s.stack.functions.get("google-maintenance")!;
    const pid = fn.pid();
    const refreshes = await s.refreshGrants("ok");

    // Google holds every refresh open; kill the pass while it waits.
    await s.fault("token", "hang", { count: 4 });
    const pending = runPass(s).catch((error) => error);
    await waitUntil(
      "the pass waiting on Google",
      async () => {
        return (await s.stats()).faultsPending.token === 0;
      },
      5000,
      10,
    );
    fn.crash();
    await pending;
    await s.clearFaults();

    assert.equal(await storedCount(s, ids), ids.length, "no row lost");
    const [leased] = await s.sql(
      `select count(*) from public.google_calendar_tokens
        where user_id = any (string_to_array(:'ids', ',')::uuid[])
          and refresh_lease_until > now()`,
      { ids: ids.join(",") },
    );
    assert.equal(leased, "4", "the dead pass's leases still stand");

    await waitUntil(
      "google-maintenance restarted",
      async () => {
        if (fn.pid() === pid) return false;
        const res = await fetch(`${s.info.functions_url}/google-maintenance`, { method: "POST" });
        await res.body?.cancel();
        return res.status === 401;
      },
      30_000,
      50,
    );
    // While its leases stand, neither another pass nor a live caller refreshes those grants.
    const overlap = await runPass(s);
    assert.equal(overlap.report.tasks.keepalive.claimed, 0, "another pass skips leased rows");
    assert.equal(await s.refreshGrants("ok") - refreshes, 0, "no refresh while the lease stands");

    await passUntilRefreshed(s, ids);
    assert.equal(await s.refreshGrants("ok") - refreshes, ids.length, "each refreshed once");
    for (const id of ids) assert.ok(await s.decryptedRow(id), "every row decrypts");
  },
});

Deno.test({
  name: "two passes at once process each row once",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await s.clearFaults();
    const users = await connectedUsers(s, "overlap", 24);
    const ids = users.map((u) => u.user.id);
    await makeDue(s, ids);
    const refreshes = await s.refreshGrants("ok");
    const [a, b] = await Promise.all([runPass(s), runPass(s)]);
    assert.equal(a.status, 200, JSON.stringify(a.report.errors));
    assert.equal(b.status, 200, JSON.stringify(b.report.errors));
    const claimed = a.report.tasks.keepalive.claimed + b.report.tasks.keepalive.claimed;
    const refreshed = a.report.tasks.keepalive.refreshed + b.report.tasks.keepalive.refreshed;
    assert.equal(claimed, ids.length, "claimed once in all");
    assert.equal(refreshed, ids.length);
    assert.equal(await s.refreshGrants("ok") - refreshes, ids.length, "one refresh per grant");
    assert.equal(await refreshedCount(s, ids), ids.length);
  },
});

Deno.test({
  name: "Postgres restarted during a pass: the pass reports it, the next pass carries on",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await s.clearFaults();
    const users = await connectedUsers(s, "pgrestart", 6);
    const ids = users.map((u) => u.user.id);
    await makeDue(s, ids);
    const refreshes = await s.refreshGrants("ok");

    // The pass's first batch waits on Google while the database goes away under it.
    await s.fault("token", "hang", { count: 6 });
    const pending = runPass(s);
    await waitUntil(
      "the pass waiting on Google",
      async () => {
        return (await s.stats()).faultsPending.token === 0;
      },
      5000,
      10,
    );
    await s.stack.postgres.stop();
    const during = await pending;
    assert.equal(during.status, 503, "the pass says it could not finish");
    assert.equal(during.report.ok, false);
    assert.ok(during.report.errors.some((e) => e.code === "database_unavailable"));
    await s.stack.postgres.start();
    await s.clearFaults();

    await waitUntil("the database answers again", async () => (await runPass(s)).status === 200);
    await passUntilRefreshed(s, ids);
    assert.equal(await storedCount(s, ids), ids.length, "no row lost");
    assert.equal(await s.refreshGrants("ok") - refreshes, ids.length, "each refreshed once");
  },
});

Deno.test({
  name: "maintenance faults suite: stop the stack",
  ...opts,
  fn: () => privateStack.stop(),
});
