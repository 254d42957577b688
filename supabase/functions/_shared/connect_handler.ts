/**
 * google-connect: hands out a Google consent URL for one user. The bot calls it with the service
 * credentials and a user_id; a signed-in user calls it with their own access token.
 */

import * as oauth from "oauth4webapi";
import type { CallerVerifier } from "./caller_auth.ts";
import type { Config } from "./config.ts";
import { describeForLog } from "./errors.ts";
import type { GoogleOAuth } from "./google_oauth.ts";
import { errorResponse, jsonResponse } from "./http.ts";
import { importStateKey, signState } from "./oauth_state.ts";
import { beginFlow } from "./pending_flows.ts";
import { checkLoginHint, readUserRequest } from "./request_input.ts";
import type { AdminClient } from "./supabase_admin.ts";

export interface ConnectDeps {
  config: Config;
  callers: CallerVerifier;
  db: AdminClient;
  google: GoogleOAuth;
}

export const CONNECT_METHODS = ["GET", "POST"] as const;

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
        maxPending: config.maxPendingFlowsPerUser,
      });
      const authUrl = deps.google.authorizationUrl({
        state,
        codeChallenge,
        forceConsent: !hasRefreshToken,
        loginHint,
      });
      return jsonResponse(200, { auth_url: authUrl.href, expires_at: expiresAt.toISOString() });
    } catch (error) {
      const response = errorResponse(error, CONNECT_METHODS);
      if (response.status >= 500) console.error(`google-connect: ${describeForLog(error)}`);
      return response;
    }
  };
}
