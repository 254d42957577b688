// Entrypoint only: wiring from the environment. The handler is ./handler.ts.
import { callerVerifierFor } from "../_google_calendar/caller_auth.ts";
import { getConfig } from "../_google_calendar/config.ts";
import { withCors } from "../_google_calendar/cors.ts";
import { createGoogleOAuth } from "../_google_calendar/google_oauth.ts";
import { adminClientFor } from "../_google_calendar/supabase_admin.ts";
import { createTokenStore } from "../_google_calendar/token_store.ts";
import { createDisconnectHandler, DISCONNECT_METHODS as METHODS } from "./handler.ts";

const config = getConfig();
const db = adminClientFor(config);
const handler = createDisconnectHandler({
  callers: callerVerifierFor(config),
  tokens: createTokenStore(db, config.encryption, { webhooks: config.webhooks !== null }),
  google: createGoogleOAuth(config.google, { timeoutMs: config.httpTimeoutMs }),
  webhooks: { db, webhooks: config.webhooks, timeoutMs: config.httpTimeoutMs },
});
Deno.serve(withCors(handler, { allowedOrigins: config.allowedOrigins, methods: METHODS }));
