/**
 * The kit's core, built from explicit dependencies: give it a validated Config and it wires the
 * database client, token store, refresh lease, Google OAuth client, access-token provider,
 * googleFetch and caller verifier. No environment, no globals: tests and benchmarks build as
 * many as they like. mod.ts builds the one a function process uses.
 */

import { type AccessTokenProvider, createAccessTokenProvider } from "./access_token.ts";
import { type CallerVerifier, callerVerifierFor } from "./caller_auth.ts";
import type { Config } from "./config.ts";
import { createGoogleFetch, type GoogleFetch } from "./google_fetch.ts";
import { createGoogleOAuth, type GoogleOAuth } from "./google_oauth.ts";
import { createRefreshLease, type RefreshLease } from "./refresh_lease.ts";
import { type AdminClient, adminClientFor } from "./supabase_admin.ts";
import { createTokenStore, type TokenStore } from "./token_store.ts";
import { deliverSoon } from "./webhook_delivery.ts";

/** Everything a skill or a function may need, wired once. */
export interface Core {
  config: Config;
  db: AdminClient;
  callers: CallerVerifier;
  google: GoogleOAuth;
  tokens: TokenStore;
  lease: RefreshLease;
  accessTokens: AccessTokenProvider;
  googleFetch: GoogleFetch;
}

/** Wires the core for `config`. */
export function createCore(config: Config): Core {
  const db = adminClientFor(config);
  const google = createGoogleOAuth(config.google, { timeoutMs: config.httpTimeoutMs });
  const tokens = createTokenStore(db, config.encryption, { webhooks: config.webhooks !== null });
  // A wait RPC must answer well inside the client's timeout, and not hold a connection long.
  const lease = createRefreshLease(db, config.encryption, {
    maxWaitMs: Math.min(1000, Math.floor(config.httpTimeoutMs / 2)),
  });
  const accessTokens = createAccessTokenProvider(
    {
      tokens,
      lease,
      google,
      // reconnect_required and disconnected were queued with the delete: first attempt now.
      onGrantDeleted: (userId) =>
        deliverSoon({ db, webhooks: config.webhooks, timeoutMs: config.httpTimeoutMs }, userId),
    },
    { timeoutMs: config.httpTimeoutMs },
  );
  return {
    config,
    db,
    callers: callerVerifierFor(config),
    google,
    tokens,
    lease,
    accessTokens,
    googleFetch: createGoogleFetch({
      tokens: accessTokens,
      apiBaseUrl: config.google.apiBaseUrl,
      timeoutMs: config.httpTimeoutMs,
    }),
  };
}
