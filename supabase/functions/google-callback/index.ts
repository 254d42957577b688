// Entrypoint only: wiring from the environment. The handler is ./handler.ts.
import { processCore } from "../_google_calendar/mod.ts";
import { watchAfterConnect } from "../_google_calendar/push.ts";
import { createCallbackHandler } from "./handler.ts";

const core = processCore();
const { config, db, google, tokens } = core;
Deno.serve(createCallbackHandler({
  config,
  db,
  google,
  tokens,
  // After the commit, off the person's path: the push channel and the first sync token.
  onConnected: (userId) => watchAfterConnect(core, userId),
}));
