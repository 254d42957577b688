/**
 * Issue 16, item 3, over real HTTP: the app's OAuth client deleted at Google, deleted and purged,
 * or its secret rotated. Every refresh then fails alike and only the operator can fix it:
 * calendar-upcoming answers google_client_misconfigured (502), logs it as an error, keeps every
 * row, and google-status and the maintenance report show it. The emulator's client is restored
 * in `finally`: the tests share one stack.
 */

import assert from "node:assert/strict";
import {
  callAsService,
  client,
  connectedUser,
  createUser,
  emulatorControl,
  expireAccessToken,
  googleEmail,
  googleStatus,
  refreshGrants,
  sql,
  stack,
  type TestUser,
  tokenRow,
} from "./support/stack.ts";

async function upcoming(userId: string): Promise<{ status: number; code: string | null }> {
  const res = await callAsService("calendar-upcoming", { query: { user_id: userId } });
  const body = await res.json() as { code?: string };
  return { status: res.status, code: body.code ?? null };
}

/**
 * The shared checks: with the client broken by `breakClient`, an expired token's refresh gives
 * google_client_misconfigured; nothing is deleted; status says so; the log has the alert; and
 * once `restore` ran, the same row works again.
 */
async function checkMisconfigured(
  prefix: string,
  breakClient: () => Promise<void>,
  restore: () => Promise<void>,
  during?: (user: TestUser) => Promise<void>,
): Promise<void> {
  const { user } = await connectedUser(prefix);
  const stored = await client.decryptedRow(user.id);
  await expireAccessToken(user.id);
  const marks = await client.logMarks();
  try {
    await breakClient();
    const refreshesBefore = await refreshGrants();
    const answer = await upcoming(user.id);
    assert.deepEqual([answer.status, answer.code], [502, "google_client_misconfigured"]);
    assert.equal(await refreshGrants(), refreshesBefore + 1, "one refresh: no retry ladder");

    const row = await client.decryptedRow(user.id);
    assert.ok(row, "the row is NOT deleted");
    assert.equal(row.refreshToken, stored!.refreshToken, "the same grant is kept");
    assert.equal(row.lastRefreshError, "google_client_misconfigured");
    assert.equal(row.leaseId, null, "the refresh lease was released");

    const shown = await googleStatus(user.id);
    assert.equal(shown.connected, true);
    assert.equal(shown.last_refresh_error, "google_client_misconfigured");

    // An operator error: logged at error level (console.error writes these lines; the stack's log
    // file holds stdout and stderr together), by the token provider and by the function.
    const logs = await client.logsMatching(
      marks,
      /calendar-upcoming: code=google_client_misconfigured/,
    );
    assert.match(
      logs,
      /access_token: refresh for user \S+ failed: code=google_client_misconfigured/,
    );
    assert.ok(!logs.includes(stack.function_env.GOOGLE_CLIENT_SECRET!), "no secret logged");

    await during?.(user);
  } finally {
    await restore();
  }
  // Restored at Google: the very same row refreshes and serves again.
  const again = await upcoming(user.id);
  assert.equal(again.status, 200, `after the restore: ${again.code}`);
  assert.equal((await tokenRow(user.id))?.last_refresh_error, null, "the error is cleared");
}

Deno.test("client deleted at Google: google_client_misconfigured (502), row kept, status and maintenance report show it", async () => {
  await checkMisconfigured(
    "client-deleted",
    async () => void await emulatorControl("clients/delete", {}),
    async () => void await emulatorControl("clients/restore", {}),
    async (user) => {
      // The maintenance report counts it too (keep-alive is the pass's only refresh). Make this
      // grant due for keep-alive; the pass stops refreshing at the first such answer.
      const days = client.config.maintenance.keepaliveDays + 1;
      await sql(
        `update public.google_calendar_tokens
            set refresh_token_used_at = now() - make_interval(days => :'days'::int)
          where user_id = :'id'`,
        { id: user.id, days: String(days) },
      );
      const res = await callAsService("google-maintenance", { method: "POST" });
      const report = await res.json() as {
        client_misconfigured: number;
        tasks: { keepalive: { stopped: string | null } };
      };
      assert.ok(report.client_misconfigured >= 1, "the report counts google_client_misconfigured");
      assert.equal(report.tasks.keepalive.stopped, "google_client_misconfigured");
      const row = await client.decryptedRow(user.id);
      assert.ok(row, "the pass deleted nothing");
      assert.equal(row.lastRefreshError, "google_client_misconfigured");
    },
  );
});

Deno.test("client deleted and purged at Google (invalid_client): google_client_misconfigured, row kept", async () => {
  await checkMisconfigured(
    "client-purged",
    async () => void await emulatorControl("clients/delete", { purged: true }),
    async () => void await emulatorControl("clients/restore", {}),
  );
});

Deno.test("client secret rotated at Google (old secret: invalid_client): google_client_misconfigured, row kept", async () => {
  const secret = stack.function_env.GOOGLE_CLIENT_SECRET!;
  await checkMisconfigured(
    "secret-rotated",
    async () =>
      void await emulatorControl("clients/secret", { secret: `rotated-${crypto.randomUUID()}` }),
    async () => void await emulatorControl("clients/secret", { secret }),
  );
});

Deno.test("secret rotated while someone consents: the callback's code exchange fails as google_client_misconfigured, logged, nothing stored", async () => {
  const secret = stack.function_env.GOOGLE_CLIENT_SECRET!;
  const user = await createUser("secret-callback");
  const google = googleEmail("secret-callback");
  const marks = await client.logMarks();
  try {
    const callbackUrl = await client.consent(await client.connectUrl(user.id), { email: google });
    await emulatorControl("clients/secret", { secret: `rotated-${crypto.randomUUID()}` });
    const answer = await client.callback(callbackUrl);
    assert.deepEqual(
      [answer.status, answer.result, answer.reason],
      [303, "error", "google_client_misconfigured"],
    );
    assert.equal(await tokenRow(user.id), null, "nothing stored");
    // result=error lines are console.error: an error-level line.
    await client.logsMatching(
      marks,
      /google-callback: result=error code=google_client_misconfigured/,
    );
  } finally {
    await emulatorControl("clients/secret", { secret });
  }
});

Deno.test("client deleted: issued access tokens keep working; a 401 then → google_client_misconfigured, row kept", async () => {
  const { user } = await connectedUser("client-deleted-401");
  const stored = await client.decryptedRow(user.id);
  try {
    await emulatorControl("clients/delete", {});
    assert.equal((await upcoming(user.id)).status, 200, "Google still takes the access token");

    await emulatorControl("tokens/invalidate", { accessToken: stored!.accessToken });
    const answer = await upcoming(user.id);
    assert.deepEqual([answer.status, answer.code], [502, "google_client_misconfigured"]);
    const row = await client.decryptedRow(user.id);
    assert.ok(row, "the row is NOT deleted");
    assert.equal(row.refreshToken, stored!.refreshToken);
    assert.equal(row.lastRefreshError, "google_client_misconfigured");
  } finally {
    await emulatorControl("clients/restore", {});
  }
  assert.equal((await upcoming(user.id)).status, 200, "restored: the same row works again");
});
