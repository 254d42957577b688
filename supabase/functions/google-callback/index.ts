// Entrypoint only: the handler lives in _shared/callback_handler.ts, where the tests reach it.
import { createCallbackHandler } from "../_shared/callback_handler.ts";
import { getServices } from "../_shared/services.ts";

Deno.serve(createCallbackHandler(getServices()));
