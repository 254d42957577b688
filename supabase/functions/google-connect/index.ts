// Entrypoint only: wiring from the environment. The handler is ./handler.ts.
import { callerVerifierFor } from "../_google_calendar/caller_auth.ts";
import { getConfig } from "../_google_calendar/config.ts";
import { withCors } from "../_google_calendar/cors.ts";
import { createGoogleOAuth } from "../_google_calendar/google_oauth.ts";
import { adminClientFor } from "../_google_calendar/supabase_admin.ts";
import { CONNECT_METHODS, createConnectHandler } from "./handler.ts";

const config = getConfig();
const handler = createConnectHandler({
  config,
  callers: callerVerifierFor(config),
  db: adminClientFor(config),
  google: createGoogleOAuth(config.google, { timeoutMs: config.httpTimeoutMs }),
});
Deno.serve(withCors(handler, { allowedOrigins: config.allowedOrigins, methods: CONNECT_METHODS }));
