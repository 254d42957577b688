/**
 * What the functions print never holds a secret. Self-contained: runs a full flow and a few
 * failures itself, collects every secret they involved, then reads the function logs.
 */

import assert from "node:assert/strict";
import {
  consentedFlow,
  emulatorAccount,
  expectCallback,
  rawConnect,
  signState,
  stateClaims,
  verifierOf,
  withParam,
} from "./support/flows.ts";
import { emulatorControl, functionLogs, sql, stack, userToken } from "./support/stack.ts";

/** Waits (bounded) until the callback has logged its line for every user in `userIds`. */
async function logsMentioning(userIds: string[]): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const logs = await functionLogs();
    if (userIds.every((id) => logs.includes(`user=${id}`))) return logs;
    if (Date.now() > deadline) throw new Error("the callback lines never reached the logs");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("log hygiene: no token, code, state, verifier or secret appears in any function log", async () => {
  const secrets: Record<string, string> = {};
  const env = stack.function_env as Record<string, string>;
  secrets["client secret"] = env.GOOGLE_CLIENT_SECRET!;
  secrets["service key"] = stack.service_role_key;
  secrets["state secret"] = env.OAUTH_STATE_SECRET!;
  secrets["encryption key"] = env.TOKEN_ENCRYPTION_KEY!;
  secrets["encryption key material"] = env.TOKEN_ENCRYPTION_KEY!.split(":")[1]!;
  secrets["jwt secret"] = stack.jwt_secret;

  // A full flow.
  const ok = await consentedFlow({ prefix: "logs-ok" });
  secrets["state"] = ok.state;
  secrets["verifier"] = await verifierOf(ok.state);
  secrets["code"] = ok.callbackUrl.searchParams.get("code")!;
  await expectCallback(ok.callbackUrl, { result: "connected" });
  const issued = await emulatorAccount(ok.google);
  secrets["access token"] = issued.latestAccessToken!.token;
  secrets["refresh token"] = issued.refreshTokens[0]!.token;
  await expectCallback(ok.callbackUrl, { result: "expired" }); // replay

  // A forged state (its signature must not be logged either).
  const forged = await consentedFlow({ prefix: "logs-forged" });
  const forgedState = await signState(stateClaims(forged.state), {
    secret: crypto.getRandomValues(new Uint8Array(32)),
  });
  secrets["forged state"] = forgedState;
  secrets["forged-flow code"] = forged.callbackUrl.searchParams.get("code")!;
  await expectCallback(withParam(forged.callbackUrl, "state", [forgedState]), {
    result: "refused",
  });

  // A PKCE mismatch: Google's invalid_grant answer must not be echoed with the code.
  const pkce = await consentedFlow({ prefix: "logs-pkce" });
  secrets["pkce state"] = pkce.state;
  secrets["pkce code"] = pkce.callbackUrl.searchParams.get("code")!;
  const wrongVerifier = "v".repeat(64);
  await sql("update public.google_oauth_pending_flows set code_verifier = :'v' where jti = :'j'", {
    v: wrongVerifier,
    j: stateClaims(pkce.state).jti,
  });
  await expectCallback(pkce.callbackUrl, { result: "error", reason: "google_error" });

  // Google failing (a 5xx from the token endpoint) is logged as an error, without the code.
  const down = await consentedFlow({ prefix: "logs-down" });
  secrets["down state"] = down.state;
  secrets["down verifier"] = await verifierOf(down.state);
  secrets["down code"] = down.callbackUrl.searchParams.get("code")!;
  await emulatorControl("faults", { endpoint: "token", kind: "500" });
  await expectCallback(down.callbackUrl, { result: "error", reason: "google_unavailable" });

  // Refused callers at google-connect.
  const token = await userToken(ok.user.id, { ttlSeconds: -60 });
  secrets["expired user token"] = token;
  await rawConnect({ headers: { authorization: `Bearer ${token}` } });
  const wrongKey = `${stack.service_role_key.slice(0, -8)}AAAAAAAA`;
  secrets["wrong service key"] = wrongKey;
  await rawConnect({ headers: { authorization: `Bearer ${wrongKey}` } });

  const logs = await logsMentioning([ok.user.id, pkce.user.id, down.user.id]);
  for (const [name, value] of Object.entries(secrets)) {
    assert(value && value.length >= 16, `${name} is a real value`);
    assert(!logs.includes(value), `the ${name} appears in a function log`);
  }
});
