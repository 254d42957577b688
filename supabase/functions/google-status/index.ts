// Entrypoint only: the handler lives in _shared/status_handler.ts, where the tests reach it.
import { getServices } from "../_shared/services.ts";
import { createStatusHandler } from "../_shared/status_handler.ts";

Deno.serve(createStatusHandler(getServices()));
