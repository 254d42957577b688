/**
 * google-callback trusts only a state it signed itself, once, before it expires, for the user
 * whose consent produced the code. Every forgery below reuses a real flow's user and jti, so only
 * the property under test differs from a state that would work.
 */

import assert from "node:assert/strict";
import {
  consentedFlow,
  decryptedRow,
  expectCallback,
  pendingFlowCount,
  signState,
  stateClaims,
  unsignedState,
  withParam,
} from "./support/flows.ts";
import { callback, tokenRow } from "./support/stack.ts";

/**
 * Sends a real consent's callback with its state replaced by `tamper(state)`; expects `expected`
 * and nothing stored. Then the untouched callback still connects: the flow was left intact and
 * only the tampering was refused.
 */
async function refusesTamperedState(
  tamper: (state: string) => Promise<string[]> | string[],
  expected: { result: string; reason: string },
): Promise<void> {
  const flow = await consentedFlow({ prefix: "state" });
  const states = await tamper(flow.state);
  await expectCallback(withParam(flow.callbackUrl, "state", states), expected);
  assert.deepEqual(await tokenRow(flow.user.id), null, "nothing stored");
  await expectCallback(flow.callbackUrl, { result: "connected" });
}

const invalid = { result: "refused", reason: "state_invalid" };

Deno.test("google-callback: accepts a state the test signs like google-connect (control)", async () => {
  // Without this, a forgery below could be refused only because the test signs states wrongly.
  const flow = await consentedFlow({ prefix: "control" });
  const resigned = await signState(stateClaims(flow.state));
  await expectCallback(withParam(flow.callbackUrl, "state", [resigned]), { result: "connected" });
});

Deno.test("google-callback: refuses a state signed with another secret", async () => {
  const otherSecret = crypto.getRandomValues(new Uint8Array(32));
  await refusesTamperedState(
    async (state) => [await signState(stateClaims(state), { secret: otherSecret })],
    invalid,
  );
});

Deno.test("google-callback: refuses an expired state signed with the right secret", async () => {
  await refusesTamperedState(
    async (state) => [await signState(stateClaims(state), { expiresIn: -120 })],
    { result: "expired", reason: "state_expired" },
  );
});

Deno.test("google-callback: refuses a state for another audience", async () => {
  await refusesTamperedState(
    async (state) => [
      await signState(stateClaims(state), { audience: "https://evil.example/callback" }),
    ],
    invalid,
  );
});

Deno.test("google-callback: refuses a state from another issuer", async () => {
  await refusesTamperedState(
    async (state) => [
      await signState(stateClaims(state), { issuer: "https://evil.example/google-connect" }),
    ],
    invalid,
  );
});

Deno.test("google-callback: refuses a state of another JWT type", async () => {
  await refusesTamperedState(
    async (state) => [await signState(stateClaims(state), { typ: "JWT" })],
    invalid,
  );
});

Deno.test("google-callback: refuses an unsigned state (alg none)", async () => {
  await refusesTamperedState((state) => [unsignedState(stateClaims(state))], invalid);
});

Deno.test("google-callback: refuses a state re-signed with HS512 under the right secret", async () => {
  await refusesTamperedState(
    async (state) => [await signState(stateClaims(state), { alg: "HS512" })],
    invalid,
  );
});

Deno.test("google-callback: refuses a truncated state", async () => {
  await refusesTamperedState((state) => [state.slice(0, -4)], invalid);
});

Deno.test("google-callback: refuses a callback without a state", async () => {
  await refusesTamperedState(() => [], invalid);
});

Deno.test("google-callback: refuses a callback with the state given twice", async () => {
  await refusesTamperedState((state) => [state, state], invalid);
});

Deno.test("google-callback: a replayed callback is expired and leaves the row unchanged", async () => {
  const flow = await consentedFlow({ prefix: "replay" });
  await expectCallback(flow.callbackUrl, { result: "connected" });
  const stored = await tokenRow(flow.user.id);
  await expectCallback(flow.callbackUrl, { result: "expired", reason: "flow_not_found" });
  assert.deepEqual(await tokenRow(flow.user.id), stored, "row unchanged");
});

Deno.test("google-callback: refuses user A's state with the code from user B's consent", async () => {
  const a = await consentedFlow({ prefix: "victim" });
  const b = await consentedFlow({ prefix: "attacker" });
  const mixed = withParam(b.callbackUrl, "state", [a.state]);
  const answer = await callback(mixed);
  assert.deepEqual(answer.result, "error");
  assert.deepEqual(answer.reason, "google_error", "Google refuses the code with A's verifier");
  assert.deepEqual(await decryptedRow(a.user.id), null, "nothing stored for A");
  assert.deepEqual(await decryptedRow(b.user.id), null, "nothing stored for B");
  assert.deepEqual(await pendingFlowCount(a.user.id), 0, "A's flow was used up");
});
