// Entrypoint only: wiring from the environment. The handler is ./handler.ts.
import { serviceOnlyCallerVerifier } from "../_google_calendar/caller_auth.ts";
import { getConfig } from "../_google_calendar/config.ts";
import { adminClientFor } from "../_google_calendar/supabase_admin.ts";
import { createWebhooksHandler, deliveryFor } from "./handler.ts";

const config = getConfig();
Deno.serve(createWebhooksHandler({
  callers: serviceOnlyCallerVerifier(config),
  deliver: deliveryFor(config, adminClientFor(config)),
  timeoutMs: config.httpTimeoutMs,
}));
