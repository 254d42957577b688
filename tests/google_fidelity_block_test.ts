/**
 * Issue 16, item 5, over real HTTP: pages that never come back. For an in-app browser
 * (disallowed_useragent), a non-test user of an app in Testing (access_denied), org_internal and
 * admin_policy_enforced, Google shows its error page and never redirects to our callback. The
 * pending flow then just expires and is purged; nothing is stored and no webhook event is
 * written. Every block is lifted in `finally`: the tests share one stack.
 */

import assert from "node:assert/strict";
import { ConsentPageError } from "../local/google_emulator/consent_client.ts";
import {
  client,
  connectUrl,
  consent,
  createUser,
  emulatorControl,
  googleEmail,
  googleStatus,
  sql,
  stack,
  type TestUser,
  tokenRow,
} from "./support/stack.ts";

/** What Facebook's in-app browser on iOS puts in its User-Agent. */
const IN_APP_BROWSER_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like " +
  "Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/440.0.0.0]";

async function liftBlocks(): Promise<void> {
  const res = await fetch(`${stack.google_emulator_url}/__emulator/block`, { method: "DELETE" });
  await res.body?.cancel();
}

async function blockedAuthorizations(): Promise<number> {
  const stats = await client.stats() as unknown as { blockedAuthorizations: number };
  return stats.blockedAuthorizations;
}

/** The jti of the one flow google-connect began for `user`, read from the database. */
async function flowOf(user: TestUser): Promise<string> {
  const jtis = await sql(
    "select jti from public.google_oauth_pending_flows where user_id = :'id'",
    { id: user.id },
  );
  assert.equal(jtis.length, 1, "one pending flow");
  return jtis[0]!;
}

/** Consent that ends on Google's page: the error it shows, which must never be a redirect. */
async function consentEndsOnPage(authUrl: URL, email: string): Promise<ConsentPageError> {
  try {
    const url = await consent(authUrl, { email });
    throw new Error(`Google redirected to ${url.origin}${url.pathname}`);
  } catch (error) {
    if (error instanceof ConsentPageError) return error;
    throw error;
  }
}

/**
 * After the block: the flow is still pending (the callback never came), then lapses; once it
 * has, another user's google-connect purges it. Nothing was stored and no webhook event exists.
 */
async function checkNothingCameBack(user: TestUser, jti: string): Promise<void> {
  assert.notEqual(await client.verifierOf(jti), null, "the flow waits: nothing came back");
  assert.equal(await tokenRow(user.id), null, "nothing stored");

  await sql(
    `update public.google_oauth_pending_flows set expires_at = now() - interval '1 minute'
      where jti = :'jti'`,
    { jti },
  );
  // Another user's link: beginning a flow purges lapsed ones, whoever they belonged to.
  await connectUrl((await createUser("block-other")).id);
  assert.equal(await client.verifierOf(jti), null, "the lapsed flow is purged");

  assert.equal(await tokenRow(user.id), null, "still nothing stored");
  const [events] = await sql(
    "select count(*) from public.google_calendar_webhook_events where user_id = :'id'",
    { id: user.id },
  );
  assert.equal(events, "0", "no webhook event: the bot learns nothing");
  const shown = await googleStatus(user.id);
  assert.deepEqual([shown.connected, shown.last_refresh_error], [false, null]);
}

Deno.test("in-app browser (disallowed_useragent): Google's page, no redirect; the flow just expires, nothing stored or sent", async () => {
  const user = await createUser("block-ua");
  try {
    await emulatorControl("block", {
      reason: "disallowed_useragent",
      userAgentContains: "FBAN/",
    });
    const authUrl = await connectUrl(user.id);
    const jti = await flowOf(user);
    const before = await blockedAuthorizations();
    const res = await fetch(authUrl, {
      headers: { "user-agent": IN_APP_BROWSER_UA },
      redirect: "manual",
    });
    const page = await res.text();
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("location"), null, "never a redirect");
    assert.match(page, /disallowed_useragent/);
    assert.equal(await blockedAuthorizations(), before + 1);
    await checkNothingCameBack(user, jti);
  } finally {
    await liftBlocks();
  }
});

for (
  const [reason, status] of [["org_internal", 403], ["admin_policy_enforced", 400]] as const
) {
  Deno.test(`${reason}: Google's page once the account is chosen, no redirect; the flow just expires, nothing stored or sent`, async () => {
    const user = await createUser(`block-${reason}`);
    const google = googleEmail(reason);
    try {
      await emulatorControl("block", { reason, email: google });
      const authUrl = await connectUrl(user.id);
      const jti = await flowOf(user);
      const page = await consentEndsOnPage(authUrl, google);
      assert.deepEqual([page.code, page.status], [reason, status]);
      await checkNothingCameBack(user, jti);
    } finally {
      await liftBlocks();
    }
  });
}

Deno.test("app in Testing, not a test user (access_denied page): no redirect; the flow just expires, nothing stored or sent", async () => {
  const user = await createUser("block-tester");
  const google = googleEmail("not-a-tester");
  try {
    await emulatorControl("clients/publishing", {
      status: "testing",
      testUsers: [googleEmail("tester")],
    });
    const authUrl = await connectUrl(user.id);
    const jti = await flowOf(user);
    const page = await consentEndsOnPage(authUrl, google);
    assert.deepEqual([page.code, page.status], ["access_denied", 403]);
    await checkNothingCameBack(user, jti);
  } finally {
    await emulatorControl("clients/publishing", { status: "production" });
  }
});
