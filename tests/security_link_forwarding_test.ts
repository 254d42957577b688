/**
 * Issue 14 item 1, link forwarding: a consent link that reaches the wrong person. With
 * `expected_google_email`, only that Google account (with a verified email) is stored; a Google
 * account linked to several users is shown, not hidden.
 */

import assert from "node:assert/strict";
import { decryptedRow, emulatorAccount, expectCallback, rawConnect } from "./support/flows.ts";
import {
  callback,
  consent,
  createUser,
  emulatorControl,
  googleEmail,
  googleStatus,
  stack,
  tokenRow,
} from "./support/stack.ts";

const service = { authorization: `Bearer ${stack.service_role_key}` };

/** The bot's link for `userId`, naming the Google account it expects. */
async function linkExpecting(userId: string, expected: string): Promise<URL> {
  const answer = await rawConnect({
    headers: { ...service, "content-type": "application/json" },
    body: JSON.stringify({ user_id: userId, expected_google_email: expected }),
  });
  assert.deepEqual(answer.status, 200, JSON.stringify(answer.body));
  return new URL(answer.body.auth_url as string);
}

Deno.test("link forwarding: a consent by another Google account than expected stores nothing", async () => {
  const user = await createUser("fwd");
  const expected = googleEmail("owner");
  const stranger = googleEmail("stranger");
  const url = await linkExpecting(user.id, expected);
  assert.deepEqual(url.searchParams.get("login_hint"), expected, "the expected account is hinted");
  await expectCallback(await consent(url, { email: stranger }), {
    result: "error",
    reason: "google_account_mismatch",
  });
  assert.deepEqual(await tokenRow(user.id), null, "nothing stored");
  assert.deepEqual((await googleStatus(user.id)).connected, false);
  // The grant Google gave us for the stranger's account is given back, not left behind.
  assert.deepEqual((await emulatorAccount(stranger)).refreshTokens, [], "revoked at Google");
});

Deno.test("link forwarding: the expected account connects, whatever the case of its email", async () => {
  const user = await createUser("fwd-ok");
  const expected = googleEmail("owner");
  const url = await linkExpecting(user.id, expected.toUpperCase());
  await expectCallback(await consent(url, { email: expected }), { result: "connected" });
  assert.deepEqual((await decryptedRow(user.id))?.googleEmail, expected);
});

Deno.test("link forwarding: an unverified email never matches the expected one", async () => {
  const user = await createUser("fwd-unverified");
  const expected = googleEmail("unverified");
  await emulatorControl("accounts", { email: expected, emailVerified: false });
  const url = await linkExpecting(user.id, expected);
  await expectCallback(await consent(url, { email: expected }), {
    result: "error",
    reason: "google_account_mismatch",
  });
  assert.deepEqual(await tokenRow(user.id), null, "nothing stored");
});

Deno.test("link forwarding: expected_google_email is checked like login_hint", async () => {
  const user = await createUser("fwd-bad");
  for (const bad of ["not an email", "a@b.example\r\nX-Injected: 1", "<b>@x.example"]) {
    const answer = await rawConnect({
      headers: { ...service, "content-type": "application/json" },
      body: JSON.stringify({ user_id: user.id, expected_google_email: bad }),
    });
    assert.deepEqual([answer.status, answer.body.code], [400, "invalid_request"], bad);
  }
});

Deno.test("link forwarding: without expected_google_email, login_hint stays a hint", async () => {
  const user = await createUser("fwd-hint");
  const hinted = googleEmail("hinted");
  const chosen = googleEmail("chosen");
  const answer = await rawConnect({
    headers: { ...service, "content-type": "application/json" },
    body: JSON.stringify({ user_id: user.id, login_hint: hinted }),
  });
  const url = new URL(answer.body.auth_url as string);
  await expectCallback(await consent(url, { email: chosen }), { result: "connected" });
  assert.deepEqual((await decryptedRow(user.id))?.googleEmail, chosen);
});

Deno.test("link forwarding: a Google account linked to two users connects, and status says so", async () => {
  const shared = googleEmail("shared");
  const a = await createUser("shared-a");
  const b = await createUser("shared-b");
  const lone = await createUser("lone");
  for (const [user, google] of [[a, shared], [b, shared], [lone, googleEmail("lone")]] as const) {
    const url = (await rawConnect({
      headers: { ...service, "content-type": "application/json" },
      body: JSON.stringify({ user_id: user.id }),
    })).body.auth_url as string;
    const answer = await callback(await consent(new URL(url), { email: google }));
    assert.deepEqual(answer.result, "connected");
  }
  assert.deepEqual((await googleStatus(b.id)).google_account_linked_to_other_users, true);
  assert.deepEqual((await googleStatus(a.id)).google_account_linked_to_other_users, true);
  assert.deepEqual((await googleStatus(lone.id)).google_account_linked_to_other_users, false);
});
