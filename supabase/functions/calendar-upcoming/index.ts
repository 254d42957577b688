// Entrypoint only: the handler lives in _shared/calendar_upcoming_handler.ts.
import { createUpcomingHandler } from "../_shared/calendar_upcoming_handler.ts";
import { getServices } from "../_shared/services.ts";

const services = getServices();
Deno.serve(createUpcomingHandler({
  ...services,
  apiBaseUrl: services.config.google.apiBaseUrl,
  timeoutMs: services.config.httpTimeoutMs,
}));
