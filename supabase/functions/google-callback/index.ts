// Entrypoint only: wiring from the environment. The handler is ./handler.ts.
import { getConfig } from "../_google_calendar/config.ts";
import { processCore } from "../_google_calendar/mod.ts";
import { watchAfterConnect } from "../_google_calendar/push.ts";
import { createGoogleOAuth } from "../_google_calendar/google_oauth.ts";
import { adminClientFor } from "../_google_calendar/supabase_admin.ts";
import { createTokenStore } from "../_google_calendar/token_store.ts";
import { createCallbackHandler } from "./handler.ts";

const config = getConfig();
const db = adminClientFor(config);
Deno.serve(createCallbackHandler({
  config,
  db,
  google: createGoogleOAuth(config.google, { timeoutMs: config.httpTimeoutMs }),
  tokens: createTokenStore(db, config.encryption, { webhooks: config.webhooks !== null }),
  // The channel is opened with the core's access-token provider (its own database client).
  onConnected: (userId) => watchAfterConnect(processCore(), userId),
}));
