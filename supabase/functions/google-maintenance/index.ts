// Entrypoint only: wiring from the environment. The handler is ./handler.ts, the pass ./runner.ts.
import { getConfig } from "../_google_calendar/config.ts";
import { createCore } from "../_google_calendar/core.ts";
import { createMaintenanceHandler } from "./handler.ts";
import { runMaintenancePass } from "./runner.ts";
import { maintenanceDeps, serviceOnlyCallers } from "./wiring.ts";

const config = getConfig();
const deps = maintenanceDeps(config, createCore(config));
Deno.serve(createMaintenanceHandler({
  callers: serviceOnlyCallers(config),
  runPass: () => runMaintenancePass(deps),
}));
