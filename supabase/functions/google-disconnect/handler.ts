/**
 * google-disconnect: revokes the user's grant at Google, then deletes the stored row whatever
 * Google answered. Idempotent: a user who is not connected gets a 200 saying so.
 */

import type { CallerVerifier } from "../_shared/caller_auth.ts";
import { describeForLog, logError } from "../_shared/errors.ts";
import type { GoogleOAuth } from "../_shared/google_oauth.ts";
import { errorResponse, jsonResponse } from "../_shared/http.ts";
import { readUserRequest } from "../_shared/request_input.ts";
import type { TokenStore } from "../_shared/token_store.ts";
import { deliverSoon, type WebhookDeliveryDeps } from "../_shared/webhook_delivery.ts";

/** The methods google-disconnect answers. */
export const DISCONNECT_METHODS = ["POST"] as const;

/** The google-disconnect handler over `deps`. */
export function createDisconnectHandler(
  deps: {
    callers: CallerVerifier;
    tokens: TokenStore;
    google: GoogleOAuth;
    /** Where lifecycle events go; the disconnected event's first attempt starts at once. */
    webhooks?: WebhookDeliveryDeps;
  },
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
      // Deleted even when the row did not decrypt (get returned null) or Google failed; then
      // the database keeps the encrypted refresh token in its revocation queue, and the
      // maintenance pass finishes the revocation.
      const deleted = await deps.tokens.delete(userId, {
        cause: "disconnect",
        revokedAtGoogle: revoked,
        needsRevocation: !revoked,
      });
      // The trigger wrote `disconnected` with the delete; the bot hears of it in the background.
      if (deleted && deps.webhooks) deliverSoon(deps.webhooks, userId);
      return jsonResponse(200, {
        user_id: userId,
        was_connected: deleted,
        revoked_at_google: revoked,
        connected: false,
      });
    } catch (error) {
      logError("google-disconnect", error);
      return errorResponse(error, DISCONNECT_METHODS);
    }
  };
}
