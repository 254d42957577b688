// Entrypoint only: wiring from the environment. The handler is ./handler.ts.
import { getConfig } from "../_shared/config.ts";
import { createGoogleOAuth } from "../_shared/google_oauth.ts";
import { adminClientFor } from "../_shared/supabase_admin.ts";
import { createTokenStore } from "../_shared/token_store.ts";
import { createCallbackHandler } from "./handler.ts";

const config = getConfig();
const db = adminClientFor(config);
Deno.serve(createCallbackHandler({
  config,
  db,
  google: createGoogleOAuth(config.google, { timeoutMs: config.httpTimeoutMs }),
  tokens: createTokenStore(db, config.encryption, { webhooks: config.webhooks !== null }),
}));
