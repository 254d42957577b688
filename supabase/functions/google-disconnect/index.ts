// Entrypoint only: wiring from the environment. The handler is ./handler.ts.
import { withCors } from "../_shared/cors.ts";
import { processCore } from "../_shared/mod.ts";
import { createDisconnectHandler, DISCONNECT_METHODS } from "./handler.ts";

const { callers, tokens, google, db, config } = processCore();
const handler = createDisconnectHandler({
  callers,
  tokens,
  google,
  webhooks: { db, webhooks: config.webhooks },
});
Deno.serve(
  withCors(handler, { allowedOrigins: config.allowedOrigins, methods: DISCONNECT_METHODS }),
);
