/**
 * Issue 14 items 6, 7 and 9 over HTTP: the state names only the flow; a correctly signed state
 * for another user's flow is refused; repeated callback parameters and repeated JSON keys are
 * 400s; an upper-case user_id works end to end.
 */

import assert from "node:assert/strict";
import {
  consentedFlow,
  decryptedRow,
  expectCallback,
  rawConnect,
  signState,
  stateClaims,
  withParam,
} from "./support/flows.ts";
import {
  callAsService,
  callback,
  consent,
  createUser,
  googleEmail,
  stack,
  tokenRow,
} from "./support/stack.ts";

const service = { authorization: `Bearer ${stack.service_role_key}` };

Deno.test("state: carries no user id; only the flow (jti) and a keyed user binding", async () => {
  const flow = await consentedFlow({ prefix: "no-sub" });
  const claims = stateClaims(flow.state);
  assert.deepEqual(claims.sub, undefined);
  assert.ok(/^[A-Za-z0-9_-]{43}$/.test(claims.ubd), "a 256-bit binding");
  assert.ok(!flow.authUrl.href.includes(flow.user.id), "not in Google's URL");
  assert.ok(!flow.callbackUrl.href.includes(flow.user.id), "not in the callback URL");
  await expectCallback(flow.callbackUrl, { result: "connected" });
});

Deno.test("state: a correctly signed state whose flow belongs to another user is refused", async () => {
  const victim = await consentedFlow({ prefix: "flow-owner" });
  const other = await createUser("state-signer");
  // Signed with the real secret for the victim's flow (jti), but bound to another user.
  const forged = await signState({ jti: stateClaims(victim.state).jti, userId: other.id });
  await expectCallback(withParam(victim.callbackUrl, "state", [forged]), {
    result: "refused",
    reason: "state_invalid",
  });
  assert.deepEqual(await tokenRow(victim.user.id), null, "nothing stored for the flow's user");
  assert.deepEqual(await tokenRow(other.id), null, "nothing stored for the signer's user");
});

Deno.test("state: an old-style state naming the user (sub) is refused", async () => {
  const flow = await consentedFlow({ prefix: "old-state" });
  const claims = stateClaims(flow.state);
  const old = await signState({ jti: claims.jti, ubd: claims.ubd, sub: flow.user.id });
  await expectCallback(withParam(flow.callbackUrl, "state", [old]), {
    result: "refused",
    reason: "state_invalid",
  });
  await expectCallback(flow.callbackUrl, { result: "connected" });
});

for (const name of ["code", "iss"]) {
  Deno.test(`google-callback: two ${name} parameters are a 400, and the link still works`, async () => {
    const flow = await consentedFlow({ prefix: `twice-${name}` });
    const value = flow.callbackUrl.searchParams.get(name) ?? "x";
    const twice = withParam(flow.callbackUrl, name, [value, value]);
    const answer = await callback(twice);
    assert.deepEqual([answer.status, answer.reason, answer.location], [
      400,
      "invalid_request",
      null,
    ]);
    assert.deepEqual(await tokenRow(flow.user.id), null);
    await expectCallback(flow.callbackUrl, { result: "connected" });
  });
}

Deno.test("google-connect: a JSON body with user_id twice is refused, in either order", async () => {
  const user = await createUser("dup-json");
  for (
    const body of [
      `{"user_id":"${user.id}","user_id":"x"}`,
      `{"user_id":"x","user_id":"${user.id}"}`,
    ]
  ) {
    const answer = await rawConnect({
      headers: { ...service, "content-type": "application/json" },
      body,
    });
    assert.deepEqual([answer.status, answer.body.code], [400, "invalid_request"], body);
  }
});

Deno.test("an upper-case user_id works end to end: connect, callback, status", async () => {
  const user = await createUser("upper");
  const upper = user.id.toUpperCase();
  const google = googleEmail("g-upper");
  const answer = await rawConnect({
    headers: { ...service, "content-type": "application/json" },
    body: JSON.stringify({ user_id: upper }),
  });
  assert.deepEqual(answer.status, 200);
  const url = new URL(answer.body.auth_url as string);
  await expectCallback(await consent(url, { email: google }), { result: "connected" });
  assert.deepEqual((await decryptedRow(user.id))?.googleEmail, google);
  const status = await callAsService("google-status", { query: { user_id: upper } });
  const body = await status.json();
  assert.deepEqual([status.status, body.user_id, body.connected, body.google_email], [
    200,
    user.id,
    true,
    google,
  ]);
});
