// Entrypoint only: the handler lives in _shared/callback_handler.ts, where the tests reach it.
import { createCallbackHandler } from "../_shared/callback_handler.ts";
import { getConfig } from "../_shared/config.ts";
import { createServices } from "../_shared/services.ts";

Deno.serve(createCallbackHandler(createServices(getConfig())));
