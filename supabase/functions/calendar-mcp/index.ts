// Entrypoint only. The handler is ./handler.ts.
import { processCore } from "../_google_calendar/mod.ts";
import { toolRunnerFor } from "../_google_calendar/calendar/runner.ts";
import { withCors } from "../_google_calendar/cors.ts";
import { createMcpHandler, MCP_METHODS } from "./handler.ts";

const core = processCore();
const { config, callers } = core;
Deno.serve(
  withCors(createMcpHandler({ callers, run: toolRunnerFor(core) }), {
    allowedOrigins: config.allowedOrigins,
    methods: MCP_METHODS,
  }),
);
