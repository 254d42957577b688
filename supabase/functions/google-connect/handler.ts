/**
 * google-connect: hands out a Google consent URL for one user. The bot calls it with the service
 * credentials and a user_id; a signed-in user calls it with their own access token.
 */

import * as oauth from "oauth4webapi";
import type { CallerVerifier } from "../_shared/caller_auth.ts";
import type { Config } from "../_shared/config.ts";
import { logError } from "../_shared/errors.ts";
import type { GoogleOAuth } from "../_shared/google_oauth.ts";
import { errorResponse, jsonResponse } from "../_shared/http.ts";
import { importStateKey, signState } from "../_shared/oauth_state.ts";
import { beginFlow } from "../_shared/pending_flows.ts";
import { checkLoginHint, readUserRequest } from "../_shared/request_input.ts";
import type { AdminClient } from "../_shared/supabase_admin.ts";

/** What the handler needs, explicitly. */
export interface ConnectDeps {
  config: Config;
  callers: CallerVerifier;
  db: AdminClient;
  google: GoogleOAuth;
}

/** The methods google-connect answers. */
export const CONNECT_METHODS = ["GET", "POST"] as const;

/** The google-connect handler over `deps`. */
export function createConnectHandler(deps: ConnectDeps): (req: Request) => Promise<Response> {
  const { config } = deps;
  const stateKey = importStateKey(config.state);

  return async (req) => {
    try {
      const { userId, params } = await readUserRequest(req, deps.callers, {
        methods: CONNECT_METHODS,
        params: ["login_hint"],
      });
      const loginHint = checkLoginHint(params.get("login_hint"));

      const jti = crypto.randomUUID();
      const codeVerifier = oauth.generateRandomCodeVerifier();
      const [codeChallenge, { state, expiresAt }] = await Promise.all([
        oauth.calculatePKCECodeChallenge(codeVerifier),
        signState(await stateKey, { userId, jti, ttlSeconds: config.state.ttlSeconds }),
      ]);
      const { hasRefreshToken } = await beginFlow(deps.db, {
        userId,
        jti,
        codeVerifier,
        expiresAt,
      });
      const authUrl = deps.google.authorizationUrl({
        state,
        codeChallenge,
        forceConsent: !hasRefreshToken,
        loginHint,
      });
      return jsonResponse(200, { auth_url: authUrl.href, expires_at: expiresAt.toISOString() });
    } catch (error) {
      logError("google-connect", error);
      return errorResponse(error, CONNECT_METHODS);
    }
  };
}
