/**
 * Google signs some ID tokens with the legacy issuer spelling "accounts.google.com" (no scheme).
 * The callback must accept that spelling and the URL one, and nothing else.
 */

import { createGoogleOAuth } from "../supabase/functions/_google_calendar/google_oauth.ts";
import { isAppError } from "../supabase/functions/_google_calendar/errors.ts";
import assert from "node:assert/strict";
import {
  config,
  consentedFlow,
  decryptedRow,
  expectCallback,
  verifierOf,
} from "./support/flows.ts";
import { emulatorControl } from "./support/stack.ts";

Deno.test("google-callback: accepts an ID token with the bare issuer spelling", async () => {
  await emulatorControl("config", { idTokenIssuerStyle: "bare" });
  try {
    const flow = await consentedFlow({ prefix: "bare-iss" });
    await expectCallback(flow.callbackUrl, { result: "connected" });
    assert.deepEqual((await decryptedRow(flow.user.id)) !== null, true);
  } finally {
    await emulatorControl("config", { idTokenIssuerStyle: "url" });
  }
});

Deno.test("google_oauth: refuses an ID token whose issuer is neither spelling", async () => {
  const flow = await consentedFlow({ prefix: "other-iss" });
  // The emulator's token answer, with the ID token's issuer claim replaced (signature aside:
  // the issuer check comes first and must refuse it on its own).
  const google = createGoogleOAuth(config.google, {
    timeoutMs: 5000,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      const body = await res.json();
      const [h, p, sig] = String(body.id_token).split(".");
      const claims = JSON.parse(atob(p!.replaceAll("-", "+").replaceAll("_", "/")));
      claims.iss = "https://accounts.example.com";
      const forged = btoa(JSON.stringify(claims)).replaceAll("+", "-").replaceAll("/", "_")
        .replace(/=+$/, "");
      return Response.json({ ...body, id_token: `${h}.${forged}.${sig}` });
    },
  });
  const codeVerifier = await verifierOf(flow.state);
  await assert.rejects(
    () => google.exchangeCode(flow.callbackUrl, { expectedState: flow.state, codeVerifier }),
    (e) => isAppError(e, "google_error"),
  );
});
