// Entrypoint only: wiring from the environment. The handler is ./handler.ts.
import { getConfig } from "../_google_calendar/config.ts";
import { createRiscKeySource } from "../_google_calendar/risc_keys.ts";
import { adminClientFor } from "../_google_calendar/supabase_admin.ts";
import { createRiscHandler } from "./handler.ts";

const config = getConfig();
const db = adminClientFor(config);
const keys = createRiscKeySource({
  configurationUrl: config.risc.configurationUrl,
  timeoutMs: config.httpTimeoutMs,
});
Deno.serve(createRiscHandler({
  db,
  keys: keys.find,
  audiences: config.risc.audiences,
  webhooks: { db, webhooks: config.webhooks, timeoutMs: config.httpTimeoutMs },
}));
