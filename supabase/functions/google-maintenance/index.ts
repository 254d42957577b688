// Entrypoint only: wiring from the environment. The handler is ./handler.ts, the pass ./pass.ts.
import { createCallerVerifier } from "../_shared/caller_auth.ts";
import { getConfig } from "../_shared/config.ts";
import { createGoogleOAuth } from "../_shared/google_oauth.ts";
import { createRefreshLease } from "../_shared/refresh_lease.ts";
import { adminClientFor } from "../_shared/supabase_admin.ts";
import { createTokenStore } from "../_shared/token_store.ts";
import { createMaintenanceHandler } from "./handler.ts";
import { runMaintenancePass } from "./pass.ts";

const config = getConfig();
const db = adminClientFor(config);
const webhooks = config.webhooks !== null;
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
const deps = {
  db,
  keyring: config.encryption,
  tokens: createTokenStore(db, config.encryption, { webhooks }),
  lease: createRefreshLease(db, config.encryption),
  google: createGoogleOAuth(config.google, { timeoutMs: config.httpTimeoutMs }),
  maintenance: config.maintenance,
  webhooks,
  timeoutMs: config.httpTimeoutMs,
  // WEBHOOK RUNNER CALL SITE: when _shared/webhook_delivery.ts exports deliverDue, pass
  // `deliverWebhooks: (deadline) => deliverDue(...)` here (only when config.webhooks is set).
};
Deno.serve(
  createMaintenanceHandler({
    callers,
    runPass: () => runMaintenancePass(deps),
  }),
);
