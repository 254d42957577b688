// Entrypoint only: the handler lives in _shared/disconnect_handler.ts, where the tests reach it.
import { withCors } from "../_shared/cors.ts";
import { createDisconnectHandler, DISCONNECT_METHODS } from "../_shared/disconnect_handler.ts";
import { getServices } from "../_shared/services.ts";

const services = getServices();
Deno.serve(
  withCors(createDisconnectHandler(services), {
    allowedOrigins: services.config.allowedOrigins,
    methods: DISCONNECT_METHODS,
  }),
);
