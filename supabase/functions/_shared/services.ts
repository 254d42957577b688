/** Builds, once per process, what the handlers depend on from the validated configuration. */

import { type AccessTokenProvider, createAccessTokenProvider } from "./access_token.ts";
import { type CallerVerifier, createCallerVerifier } from "./caller_auth.ts";
import { type Config, getConfig } from "./config.ts";
import { createGoogleOAuth, type GoogleOAuth } from "./google_oauth.ts";
import { type AdminClient, createAdminClient } from "./supabase_admin.ts";
import { createTokenStore, type TokenStore } from "./token_store.ts";

export interface Services {
  config: Config;
  callers: CallerVerifier;
  db: AdminClient;
  google: GoogleOAuth;
  tokens: TokenStore;
  accessTokens: AccessTokenProvider;
}

export function createServices(config: Config): Services {
  const db = createAdminClient(config.supabaseUrl, {
    key: config.adminKey,
    timeoutMs: config.httpTimeoutMs,
  });
  const google = createGoogleOAuth(config.google, { timeoutMs: config.httpTimeoutMs });
  const tokens = createTokenStore(db, config.encryption);
  return {
    config,
    callers: createCallerVerifier({
      serviceCredentials: config.serviceCredentials,
      jwksUrl: config.auth.jwksUrl,
      issuer: config.auth.issuer,
      timeoutMs: config.httpTimeoutMs,
    }),
    db,
    google,
    tokens,
    accessTokens: createAccessTokenProvider({ db, tokens, google }),
  };
}

let services: Services | undefined;

/** This process's services, from its environment (read and validated on first use). */
export function getServices(): Services {
  services ??= createServices(getConfig());
  return services;
}
