// Entrypoint only: wiring from the environment. The handler is ./handler.ts.
import { callerVerifierFor } from "../_google_calendar/caller_auth.ts";
import { getConfig } from "../_google_calendar/config.ts";
import { withCors } from "../_google_calendar/cors.ts";
import { adminClientFor } from "../_google_calendar/supabase_admin.ts";
import { createTokenStore } from "../_google_calendar/token_store.ts";
import { createStatusHandler, STATUS_METHODS } from "./handler.ts";

const config = getConfig();
const db = adminClientFor(config);
const handler = createStatusHandler({
  callers: callerVerifierFor(config),
  db,
  tokens: createTokenStore(db, config.encryption, { webhooks: config.webhooks !== null }),
});
Deno.serve(withCors(handler, { allowedOrigins: config.allowedOrigins, methods: STATUS_METHODS }));
