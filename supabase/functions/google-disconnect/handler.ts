/**
 * google-disconnect: revokes the user's grant at Google, then deletes the stored row whatever
 * Google answered, and cancels the user's unused consent links. Idempotent: a user who is not
 * connected gets a 200 saying so.
 *
 * Revoking any token ends the whole grant of that Google account to us. So when another user
 * (of this app) is linked to the same Google account, nothing is revoked now: the refresh token
 * goes to the revocation queue, whose runner revokes it once no user holds that account.
 */

import type { CallerVerifier } from "../_google_calendar/caller_auth.ts";
import { describeForLog, logError } from "../_google_calendar/errors.ts";
import type { GoogleOAuth } from "../_google_calendar/google_oauth.ts";
import { errorResponse, jsonResponse } from "../_google_calendar/http.ts";
import { readUserRequest } from "../_google_calendar/request_input.ts";
import {
  markAccountGrantsForRefreshTest,
  type TokenStore,
} from "../_google_calendar/token_store.ts";
import { deliverSoon, type WebhookDeliveryDeps } from "../_google_calendar/webhook_delivery.ts";

/** The methods google-disconnect answers. */
export const DISCONNECT_METHODS = ["POST"] as const;

/** The google-disconnect handler over `deps`. */
export function createDisconnectHandler(
  deps: {
    callers: CallerVerifier;
    tokens: TokenStore;
    google: GoogleOAuth;
    /**
     * Where lifecycle events go; the disconnected event's first attempt starts at once. Its
     * database client also marks the grants of a revoked account saved during the revoke.
     */
    webhooks?: WebhookDeliveryDeps;
    /**
     * Stops the user's push channels with this access token (push_channels.ts's
     * stopUserChannels), before the revocation leaves no token that could.
     */
    stopChannels?: (userId: string, accessToken: string) => Promise<number>;
  },
): (req: Request) => Promise<Response> {
  return async (req) => {
    try {
      const { userId } = await readUserRequest(req, deps.callers, {
        methods: DISCONNECT_METHODS,
        params: [],
      });
      const stored = await deps.tokens.get(userId);
      const shared = stored?.googleSub
        ? (await deps.tokens.linkedGoogleAccounts([stored.googleSub], { exceptUserId: userId }))
          .size > 0
        : false;
      let revoked = false;
      if (stored && deps.stopChannels && (stored.expiresAt?.getTime() ?? 0) > Date.now() + 5_000) {
        await deps.stopChannels(userId, stored.accessToken);
      }
      if (stored && !shared) {
        // Revoking the refresh token ends the whole grant at Google, access tokens included.
        revoked = await deps.google.revoke(stored.refreshToken).catch((error) => {
          console.warn(`google-disconnect: revocation failed: ${describeForLog(error)}`);
          return false;
        });
        // Nobody else held the account at the check (under its lock): a grant of it found now
        // was saved during the revoke, which may have ended it. The next pass tests it.
        if (revoked && stored.googleSub && deps.webhooks) {
          await markAccountGrantsForRefreshTest(deps.webhooks.db, stored.googleSub, userId).catch((
            e,
          ) => console.warn(`google-disconnect: saved-since check: ${describeForLog(e)}`));
        }
      }
      // Deleted even when the row did not decrypt (get returned null), Google failed or the
      // account is shared; then the database keeps the encrypted refresh token in its
      // revocation queue, and the maintenance pass finishes the revocation when it may.
      // Only the grant read above: a consent stored meanwhile was not the one revoked.
      let deleted = await deps.tokens.delete(userId, {
        ...(stored ? { grantId: stored.grantId } : {}),
        cause: "disconnect",
        revokedAtGoogle: revoked,
        needsRevocation: !revoked,
      });
      if (stored && !deleted) {
        // A newer consent replaced it meanwhile: it goes too, and its revocation is queued (the
        // answer is about the grant deleted, which was not the one revoked).
        revoked = false;
        deleted = await deps.tokens.delete(userId, {
          cause: "disconnect",
          revokedAtGoogle: false,
          needsRevocation: true,
        });
      }
      // The trigger wrote `disconnected` with the delete; the bot hears of it in the background.
      if (deleted && deps.webhooks) deliverSoon(deps.webhooks, userId);
      return jsonResponse(200, {
        user_id: userId,
        was_connected: deleted,
        revoked_at_google: revoked,
        // Another user of this app holds the same Google account: revoking would end theirs.
        google_account_shared: shared,
        connected: false,
      });
    } catch (error) {
      logError("google-disconnect", error);
      return errorResponse(error, DISCONNECT_METHODS);
    }
  };
}
