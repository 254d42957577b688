// Entrypoint only: the handler lives in _shared/connect_handler.ts, where the tests reach it.
import { getConfig } from "../_shared/config.ts";
import { createConnectHandler } from "../_shared/connect_handler.ts";
import { createServices } from "../_shared/services.ts";

Deno.serve(createConnectHandler(createServices(getConfig())));
