// Entrypoint only: wiring from the environment. The handler is ./handler.ts.
import { getConfig } from "../_google_calendar/config.ts";
import { withCors } from "../_google_calendar/cors.ts";
import { createDisconnectHandler, DISCONNECT_METHODS as METHODS } from "./handler.ts";
import { disconnectDeps } from "./wiring.ts";

const config = getConfig();
const handler = createDisconnectHandler(disconnectDeps(config));
Deno.serve(withCors(handler, { allowedOrigins: config.allowedOrigins, methods: METHODS }));
