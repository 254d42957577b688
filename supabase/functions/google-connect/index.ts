// Entrypoint only: the handler lives in _shared/connect_handler.ts, where the tests reach it.
import { withCors } from "../_shared/cors.ts";
import { CONNECT_METHODS, createConnectHandler } from "../_shared/connect_handler.ts";
import { getServices } from "../_shared/services.ts";

const services = getServices();
Deno.serve(
  withCors(createConnectHandler(services), {
    allowedOrigins: services.config.allowedOrigins,
    methods: CONNECT_METHODS,
  }),
);
