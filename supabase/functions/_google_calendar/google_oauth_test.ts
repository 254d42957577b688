/** createGoogleOAuth(): how Google's revocation answers are read, without a stack. */

import assert from "node:assert/strict";
import { loadConfig } from "./config.ts";
import { type ErrorCode, isAppError } from "./errors.ts";
import { createGoogleOAuth } from "./google_oauth.ts";
import { VALID_ENV } from "../../../tests/support/config_env.ts";

const config = loadConfig(VALID_ENV);

function googleAnswering(status: number, body: unknown) {
  const calls: Request[] = [];
  const google = createGoogleOAuth(config.google, {
    timeoutMs: 1000,
    fetch: ((input: RequestInfo | URL, init?: RequestInit) => {
      calls.push(new Request(input, init));
      return Promise.resolve(
        body === null ? new Response(null, { status }) : Response.json(body, { status }),
      );
    }) as typeof fetch,
  });
  return { google, calls };
}

Deno.test("revoke(): 200 is revoked; 400 invalid_token is already invalid", async () => {
  assert.equal(await googleAnswering(200, null).google.revoke("1//t"), true);
  const { google, calls } = googleAnswering(400, {
    error: "invalid_token",
    error_description: "Token expired or revoked",
  });
  assert.equal(await google.revoke("1//t"), false);
  assert.equal(calls.length, 1);
  assert.equal(new URL(calls[0]!.url).href, config.google.revocationEndpoint);
});

Deno.test("revoke(): any other 400, or a 5xx, is an error to retry, not 'already invalid' (finding 6)", async () => {
  const cases: [number, unknown, ErrorCode][] = [
    [400, { error: "invalid_request", error_description: "Bad Request" }, "google_unavailable"],
    [400, { error: "unsupported_token_type" }, "google_unavailable"],
    [400, { error: "invalid_client" }, "google_client_misconfigured"],
    [503, { error: "backendError" }, "google_unavailable"],
  ];
  for (const [status, body, code] of cases) {
    await assert.rejects(
      googleAnswering(status, body).google.revoke("1//t"),
      (e) => isAppError(e, code),
      JSON.stringify(body),
    );
  }
});
