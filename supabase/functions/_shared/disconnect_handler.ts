/**
 * google-disconnect: revokes the user's grant at Google, then deletes the stored row whatever
 * Google answered. Idempotent: a user who is not connected gets a 200 saying so.
 */

import type { CallerVerifier } from "./caller_auth.ts";
import { describeForLog } from "./errors.ts";
import type { GoogleOAuth } from "./google_oauth.ts";
import { errorResponse, jsonResponse } from "./http.ts";
import { readUserRequest } from "./request_input.ts";
import type { TokenStore } from "./token_store.ts";

export const DISCONNECT_METHODS = ["POST"] as const;

export function createDisconnectHandler(
  deps: { callers: CallerVerifier; tokens: TokenStore; google: GoogleOAuth },
): (req: Request) => Promise<Response> {
  return async (req) => {
    try {
      const { userId } = await readUserRequest(req, deps.callers, {
        methods: DISCONNECT_METHODS,
        params: [],
      });
      const stored = await deps.tokens.get(userId);
      let revoked = false;
      if (stored) {
        // Revoking the refresh token ends the whole grant at Google, access tokens included.
        revoked = await deps.google.revoke(stored.refreshToken).catch((error) => {
          console.warn(`google-disconnect: revocation failed: ${describeForLog(error)}`);
          return false;
        });
      }
      // Deleted even when the row did not decrypt (get returned null) or Google failed.
      const deleted = await deps.tokens.delete(userId);
      return jsonResponse(200, {
        user_id: userId,
        was_connected: deleted,
        revoked_at_google: revoked,
        connected: false,
      });
    } catch (error) {
      const response = errorResponse(error, DISCONNECT_METHODS);
      if (response.status >= 500) console.error(`google-disconnect: ${describeForLog(error)}`);
      return response;
    }
  };
}
