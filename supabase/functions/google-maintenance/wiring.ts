/**
 * What index.ts wires from the configuration: the callers it lets in (the service credentials
 * only) and the pass's dependencies from the kit's core.
 */

import { type CallerVerifier, createCallerVerifier } from "../_google_calendar/caller_auth.ts";
import type { Config } from "../_google_calendar/config.ts";
import type { Core } from "../_google_calendar/core.ts";
import { deliverDue } from "../_google_calendar/webhook_delivery.ts";
import type { MaintenanceDeps } from "./task.ts";

/** Most webhook events one pass delivers (the receiver sees at most 8 at once). */
export const WEBHOOKS_PER_PASS = 500;

/**
 * A verifier that knows the service credentials only: no user token verifies (every key lookup
 * fails), and bot API keys are not service credentials.
 */
export function serviceOnlyCallers(config: Config): CallerVerifier {
  return createCallerVerifier({
    serviceCredentials: config.serviceCredentials,
    jwksUrl: config.auth.jwksUrl,
    issuer: config.auth.issuer,
    timeoutMs: config.httpTimeoutMs,
    jwks: () => {
      throw new Error("google-maintenance takes the service credentials only");
    },
  });
}

/** The pass's dependencies from `core` (built once per process for `config`). */
export function maintenanceDeps(config: Config, core: Core): MaintenanceDeps {
  const webhooks = config.webhooks;
  return {
    db: core.db,
    keyring: config.encryption,
    tokens: core.tokens,
    lease: core.lease,
    google: core.google,
    maintenance: config.maintenance,
    webhooks: webhooks !== null,
    timeoutMs: config.httpTimeoutMs,
    ...(webhooks
      ? {
        deliverWebhooks: (deadline: number) =>
          deliverDue(
            { db: core.db, webhooks, timeoutMs: config.httpTimeoutMs },
            { limit: WEBHOOKS_PER_PASS, deadline },
          ),
      }
      : {}),
  };
}
