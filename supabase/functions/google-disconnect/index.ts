// Entrypoint only: the handler lives in _shared/disconnect_handler.ts, where the tests reach it.
import { createDisconnectHandler } from "../_shared/disconnect_handler.ts";
import { getServices } from "../_shared/services.ts";

Deno.serve(createDisconnectHandler(getServices()));
