// Entrypoint only: the handler lives in _shared/status_handler.ts, where the tests reach it.
import { withCors } from "../_shared/cors.ts";
import { createStatusHandler, STATUS_METHODS } from "../_shared/status_handler.ts";
import { getServices } from "../_shared/services.ts";

const services = getServices();
Deno.serve(
  withCors(createStatusHandler(services), {
    allowedOrigins: services.config.allowedOrigins,
    methods: STATUS_METHODS,
  }),
);
