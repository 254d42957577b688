// Entrypoint only. The handler is ./handler.ts; like any skill it imports only _google_calendar/mod.ts.
import { processCore } from "../_google_calendar/mod.ts";
import { handleUpcoming, UPCOMING_METHODS } from "./handler.ts";
import { withCors } from "../_google_calendar/cors.ts";

const { config } = processCore();
Deno.serve(
  withCors(handleUpcoming, { allowedOrigins: config.allowedOrigins, methods: UPCOMING_METHODS }),
);
