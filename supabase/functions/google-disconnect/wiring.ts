/** What index.ts wires from the configuration: the handler's dependencies. */

import { callerVerifierFor } from "../_google_calendar/caller_auth.ts";
import type { Config } from "../_google_calendar/config.ts";
import { createGoogleOAuth } from "../_google_calendar/google_oauth.ts";
import { stopUserChannels } from "../_google_calendar/push_channels.ts";
import { adminClientFor } from "../_google_calendar/supabase_admin.ts";
import { createTokenStore } from "../_google_calendar/token_store.ts";
import type { createDisconnectHandler } from "./handler.ts";

/** google-disconnect's dependencies for `config`. */
export function disconnectDeps(config: Config): Parameters<typeof createDisconnectHandler>[0] {
  const db = adminClientFor(config);
  const timeoutMs = config.httpTimeoutMs;
  const { apiBaseUrl } = config.google;
  return {
    callers: callerVerifierFor(config),
    tokens: createTokenStore(db, config.encryption, { webhooks: config.webhooks !== null }),
    google: createGoogleOAuth(config.google, { timeoutMs }),
    webhooks: { db, webhooks: config.webhooks, timeoutMs },
    ...(config.push
      ? {
        stopChannels: (userId: string, accessToken: string) =>
          stopUserChannels({ db, apiBaseUrl, timeoutMs }, userId, accessToken),
      }
      : {}),
  };
}
