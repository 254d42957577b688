// Entrypoint only: the handler lives in _shared/connect_handler.ts, where the tests reach it.
import { createConnectHandler } from "../_shared/connect_handler.ts";
import { getServices } from "../_shared/services.ts";

Deno.serve(createConnectHandler(getServices()));
