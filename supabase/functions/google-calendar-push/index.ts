// Entrypoint only: wiring from the environment. The handler is ./handler.ts.
import { syncSoon } from "../_google_calendar/calendar_sync.ts";
import { processCore } from "../_google_calendar/mod.ts";
import { deliverSoon } from "../_google_calendar/webhook_delivery.ts";
import { createPushHandler } from "./handler.ts";

const { config, db, googleFetch } = processCore();
const syncDeps = {
  db,
  googleFetch,
  webhooks: config.webhooks !== null,
  timeoutMs: config.httpTimeoutMs,
  onEventsQueued: (userId: string) =>
    deliverSoon({ db, webhooks: config.webhooks, timeoutMs: config.httpTimeoutMs }, userId),
};
Deno.serve(createPushHandler({ db, onSyncQueued: (userId) => syncSoon(syncDeps, userId) }));
