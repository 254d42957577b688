// Entrypoint only: wiring from the environment. The handler is ./handler.ts, the pass ./pass.ts.
import { getConfig } from "../_shared/config.ts";
import { createCore } from "../_shared/core.ts";
import { createMaintenanceHandler } from "./handler.ts";
import { runMaintenancePass } from "./pass.ts";
import { maintenanceDeps, serviceOnlyCallers } from "./wiring.ts";

const config = getConfig();
const deps = maintenanceDeps(config, createCore(config));
Deno.serve(createMaintenanceHandler({
  callers: serviceOnlyCallers(config),
  runPass: () => runMaintenancePass(deps),
}));
