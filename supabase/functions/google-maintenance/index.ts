// Entrypoint only: wiring from the environment. The handler is ./handler.ts, the pass ./runner.ts.
import { serviceOnlyCallerVerifier } from "../_google_calendar/caller_auth.ts";
import { getConfig } from "../_google_calendar/config.ts";
import { createCore } from "../_google_calendar/core.ts";
import { createMaintenanceHandler } from "./handler.ts";
import { runMaintenancePass } from "./runner.ts";
import { maintenanceDeps } from "./wiring.ts";

const config = getConfig();
const deps = maintenanceDeps(config, createCore(config));
Deno.serve(createMaintenanceHandler({
  callers: serviceOnlyCallerVerifier(config),
  runPass: () => runMaintenancePass(deps),
}));
