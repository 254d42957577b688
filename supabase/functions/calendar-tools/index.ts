// Entrypoint only. The handler is ./handler.ts.
import { processCore, processTools } from "../_google_calendar/mod.ts";
import { withCors } from "../_google_calendar/cors.ts";
import { createToolsHandler, TOOLS_METHODS } from "./handler.ts";

const { config, callers } = processCore();
Deno.serve(
  withCors(createToolsHandler({ callers, run: processTools() }), {
    allowedOrigins: config.allowedOrigins,
    methods: TOOLS_METHODS,
  }),
);
