/**
 * google-connect: hands out a Google consent URL for one user. The bot calls it with a bot API
 * key (or the service credentials) and a user_id; a signed-in user calls it with their own
 * access token. Only the newest link of a user works. With `expected_google_email`, only a
 * consent by that (verified) Google account is stored.
 */

import * as oauth from "oauth4webapi";
import type { CallerVerifier } from "../_google_calendar/caller_auth.ts";
import type { Config } from "../_google_calendar/config.ts";
import { AppError, logError } from "../_google_calendar/errors.ts";
import { KNOWN_CALENDAR_SCOPES } from "../_google_calendar/google_facts.ts";
import type { GoogleOAuth } from "../_google_calendar/google_oauth.ts";
import { errorResponse, jsonResponse } from "../_google_calendar/http.ts";
import { importStateKey, signState } from "../_google_calendar/oauth_state.ts";
import { beginFlow } from "../_google_calendar/pending_flows.ts";
import { checkEmailParam, readUserRequest } from "../_google_calendar/request_input.ts";
import type { AdminClient } from "../_google_calendar/supabase_admin.ts";

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
        params: ["login_hint", "expected_google_email", "scopes"],
      });
      const extraScopes = checkScopesParam(params.get("scopes"));
      // login_hint only preselects an account at Google; expected_google_email is enforced by
      // the callback (a consent by any other, or an unverified, account stores nothing).
      const loginHint = checkEmailParam("login_hint", params.get("login_hint"));
      const expectedGoogleEmail = checkEmailParam(
        "expected_google_email",
        params.get("expected_google_email"),
      );

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
        expectedGoogleEmail,
      });
      const authUrl = deps.google.authorizationUrl({
        state,
        codeChallenge,
        forceConsent: !hasRefreshToken,
        // The expected account is the natural hint, unless the bot gave another.
        loginHint: loginHint ?? expectedGoogleEmail,
        extraScopes,
      });
      return jsonResponse(200, { auth_url: authUrl.href, expires_at: expiresAt.toISOString() });
    } catch (error) {
      logError("google-connect", error);
      return errorResponse(error, CONNECT_METHODS);
    }
  };
}

/**
 * `scopes`: extra Calendar scopes for this link (incremental consent), as short names or the full
 * URLs a `google_scope_missing` error names, space- or comma-separated; only known ones.
 */
export function checkScopesParam(value: string | undefined): string[] {
  if (value === undefined || value.trim() === "") return [];
  const known = Object.entries(KNOWN_CALENDAR_SCOPES);
  const parts = value.split(/[\s,]+/).filter(Boolean);
  if (parts.length > known.length) {
    throw new AppError("invalid_request", "scopes lists too many scopes.");
  }
  return parts.map((part) => {
    const found = known.find(([name, url]) => part === name || part === url);
    if (!found) {
      throw new AppError(
        "invalid_request",
        `scopes must be among ${known.map(([name]) => name).join(", ")}.`,
      );
    }
    return found[1];
  });
}
