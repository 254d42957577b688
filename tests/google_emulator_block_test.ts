// Block mode: Google's error pages that never redirect back to the app.
import assert from "node:assert/strict";
import { answerConsent, ConsentPageError } from "../local/google_emulator/consent_client.ts";
import {
  controlCall,
  signIn,
  TEST_EMAIL,
  testAuthUrl,
  testEmulator,
} from "../local/google_emulator/testing.ts";

Deno.test("emulator: a global block shows Google's page at the authorization URL and never redirects", async () => {
  const reasons = [
    ["disallowed_useragent", 403],
    ["access_denied", 403],
    ["org_internal", 403],
    ["admin_policy_enforced", 400],
  ] as const;
  for (const [reason, status] of reasons) {
    const { emulator } = await testEmulator();
    assert.equal((await controlCall(emulator, "block", { reason })).status, 200);
    const page = await emulator.fetch(testAuthUrl(), { redirect: "manual" });
    assert.equal(page.status, status, reason);
    assert.equal(page.headers.get("location"), null, `${reason}: no redirect`);
    assert.match(await page.text(), new RegExp(`Error ${status}: ${reason}`));
    const error = await signIn(emulator).catch((e) => e);
    assert.ok(error instanceof ConsentPageError, reason);
    assert.equal(error.code, reason);
    assert.equal(emulator.stats().blockedAuthorizations, 2);
    assert.equal(emulator.stats().tokenGrants.authorization_code.ok, 0);
  }
});

Deno.test("emulator: disallowed_useragent can apply to in-app browsers only", async () => {
  const { emulator } = await testEmulator();
  await controlCall(emulator, "block", {
    reason: "disallowed_useragent",
    userAgentContains: "; wv)",
  });
  const webview = "Mozilla/5.0 (Linux; Android 14; Pixel 8; wv) AppleWebKit/537.36";
  const blocked = await signIn(emulator, { headers: { "user-agent": webview } }).catch((e) => e);
  assert.equal(blocked.code, "disallowed_useragent");
  const browser = await signIn(emulator, { headers: { "user-agent": "Mozilla/5.0 (X11; Linux)" } });
  assert.equal(typeof browser.access_token, "string");
});

Deno.test("emulator: a block for one account shows once that account is chosen; DELETE lifts it", async () => {
  const { emulator } = await testEmulator();
  await controlCall(emulator, "block", { reason: "org_internal", email: TEST_EMAIL });
  const blocked = await signIn(emulator).catch((e) => e);
  assert.ok(blocked instanceof ConsentPageError);
  assert.equal([blocked.code, blocked.status].join(" "), "org_internal 403");
  assert.equal(
    typeof (await signIn(emulator, { email: "bob@example.com" })).access_token,
    "string",
  );
  const lifted = await emulator.fetch("/__emulator/block", { method: "DELETE" });
  await lifted.body?.cancel();
  assert.equal(typeof (await signIn(emulator)).access_token, "string");
});

Deno.test("emulator: an app in Testing blocks accounts that are not test users with access_denied", async () => {
  const { emulator } = await testEmulator();
  await controlCall(emulator, "clients/publishing", {
    status: "testing",
    testUsers: ["bob@example.com"],
  });
  const error = await answerConsent(testAuthUrl(), { email: TEST_EMAIL, fetch: emulator.fetch })
    .catch((e) => e);
  assert.ok(error instanceof ConsentPageError);
  assert.equal(error.code, "access_denied");
  assert.match(error.message, /has not completed the Google verification process/);
  assert.equal(
    typeof (await signIn(emulator, { email: "bob@example.com" })).refresh_token,
    "string",
  );
  const bad = await controlCall(emulator, "block", { reason: "nope" });
  assert.equal(bad.status, 400);
});
