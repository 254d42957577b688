// Entrypoint only: wiring from the environment. The handler is ./handler.ts.
import { syncPending, syncSoon } from "../_google_calendar/calendar_sync.ts";
import { processCore } from "../_google_calendar/mod.ts";
import { syncDepsFor } from "../_google_calendar/push.ts";
import { createPushHandler } from "./handler.ts";

const core = processCore();
const sync = syncDepsFor(core);
Deno.serve(createPushHandler({
  db: core.db,
  onSyncQueued: (userId) => syncSoon(sync, userId),
  syncPending: (userId) => syncPending(core.db, userId),
}));
