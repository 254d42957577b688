/**
 * google-status: whether a user is connected, to which Google account, and how it is going; and
 * whether that Google account is also linked to another user of the app (a forwarded link, or
 * a shared account: the bot should say so).
 */

import type { CallerVerifier } from "../_google_calendar/caller_auth.ts";
import { logError } from "../_google_calendar/errors.ts";
import { hasCalendarScope } from "../_google_calendar/google_facts.ts";
import { errorResponse, jsonResponse } from "../_google_calendar/http.ts";
import { readUserRequest } from "../_google_calendar/request_input.ts";
import { type AdminClient, databaseError } from "../_google_calendar/supabase_admin.ts";
import { TOKENS_TABLE, type TokenStore } from "../_google_calendar/token_store.ts";

/** The methods google-status answers. */
export const STATUS_METHODS = ["GET", "POST"] as const;

/** The google-status handler over `deps`. */
export function createStatusHandler(
  deps: { callers: CallerVerifier; tokens: TokenStore; db: AdminClient },
): (req: Request) => Promise<Response> {
  return async (req) => {
    try {
      const { userId } = await readUserRequest(req, deps.callers, {
        methods: STATUS_METHODS,
        params: [],
      });
      const row = await deps.tokens.get(userId);
      const linkedToOthers = row?.googleSub
        ? await linkedToOtherUsers(deps.db, row.googleSub, userId)
        : false;
      // Built field by field from the row: never a token, whatever the row holds.
      return jsonResponse(200, {
        user_id: userId,
        connected: row !== null,
        google_email: row?.googleEmail ?? null,
        scopes: row?.scopes ?? [],
        token_expires_at: row?.expiresAt?.toISOString() ?? null,
        refresh_token_expires_at: row?.refreshTokenExpiresAt?.toISOString() ??
          null,
        connected_at: row?.connectedAt?.toISOString() ?? null,
        last_refresh_at: row?.lastRefreshAt?.toISOString() ?? null,
        last_refresh_error: row?.lastRefreshError || null,
        // A time-limited grant past its end is dead, whether or not maintenance has run yet.
        reconnect_required: row === null || !hasCalendarScope(row.scopes) ||
          (row.refreshTokenExpiresAt !== null &&
            row.refreshTokenExpiresAt.getTime() <= Date.now()),
        google_account_linked_to_other_users: linkedToOthers,
      });
    } catch (error) {
      logError("google-status", error);
      return errorResponse(error, STATUS_METHODS);
    }
  };
}

/** True when another user's grant is for the same Google account (index on google_sub). */
async function linkedToOtherUsers(
  db: AdminClient,
  googleSub: string,
  userId: string,
): Promise<boolean> {
  const { data, error } = await db.from(TOKENS_TABLE).select("user_id")
    .eq("google_sub", googleSub).neq("user_id", userId).limit(1);
  if (error) throw databaseError(error);
  return (data ?? []).length > 0;
}
