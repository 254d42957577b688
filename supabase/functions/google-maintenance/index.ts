// Entrypoint only: wiring from the environment. The handler is ./handler.ts, the pass ./pass.ts.
import { createCallerVerifier } from "../_shared/caller_auth.ts";
import { getConfig } from "../_shared/config.ts";
import { createCore } from "../_shared/core.ts";
import { deliverDue } from "../_shared/webhook_delivery.ts";
import { createMaintenanceHandler } from "./handler.ts";
import { type MaintenanceDeps, runMaintenancePass } from "./pass.ts";

/** Most webhook events one pass delivers (the receiver sees at most 8 at once). */
const WEBHOOKS_PER_PASS = 500;

const config = getConfig();
const core = createCore(config);
// The service credentials only: no user token verifies (every key lookup fails), and bot API
// keys are not service credentials.
const callers = createCallerVerifier({
  serviceCredentials: config.serviceCredentials,
  jwksUrl: config.auth.jwksUrl,
  issuer: config.auth.issuer,
  timeoutMs: config.httpTimeoutMs,
  jwks: () => {
    throw new Error("google-maintenance takes the service credentials only");
  },
});
const webhooks = config.webhooks;
const deps: MaintenanceDeps = {
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
Deno.serve(
  createMaintenanceHandler({
    callers,
    runPass: () => runMaintenancePass(deps),
  }),
);
