// Entrypoint only: the handler lives in _shared/calendar_upcoming_handler.ts.
import { createUpcomingHandler, UPCOMING_METHODS } from "../_shared/calendar_upcoming_handler.ts";
import { withCors } from "../_shared/cors.ts";
import { getServices } from "../_shared/services.ts";

const services = getServices();
Deno.serve(
  withCors(
    createUpcomingHandler({
      ...services,
      apiBaseUrl: services.config.google.apiBaseUrl,
      timeoutMs: services.config.httpTimeoutMs,
    }),
    { allowedOrigins: services.config.allowedOrigins, methods: UPCOMING_METHODS },
  ),
);
