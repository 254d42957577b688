/** google-status: whether a user is connected, to which Google account, and how it is going. */

import type { CallerVerifier } from "./caller_auth.ts";
import { describeForLog } from "./errors.ts";
import { hasCalendarScope } from "./google_oauth.ts";
import { errorResponse, jsonResponse } from "./http.ts";
import { readUserRequest } from "./request_input.ts";
import type { TokenStore } from "./token_store.ts";

export const STATUS_METHODS = ["GET", "POST"] as const;

export function createStatusHandler(
  deps: { callers: CallerVerifier; tokens: TokenStore },
): (req: Request) => Promise<Response> {
  return async (req) => {
    try {
      const { userId } = await readUserRequest(req, deps.callers, {
        methods: STATUS_METHODS,
        params: [],
      });
      const row = await deps.tokens.get(userId);
      // Built field by field from the row: never a token, whatever the row holds.
      return jsonResponse(200, {
        user_id: userId,
        connected: row !== null,
        google_email: row?.googleEmail ?? null,
        scopes: row?.scopes ?? [],
        token_expires_at: row?.expiresAt?.toISOString() ?? null,
        last_refresh_at: row?.lastRefreshAt?.toISOString() ?? null,
        last_refresh_error: row?.lastRefreshError || null,
        reconnect_required: row === null || !hasCalendarScope(row.scopes),
      });
    } catch (error) {
      const response = errorResponse(error, STATUS_METHODS);
      if (response.status >= 500) console.error(`google-status: ${describeForLog(error)}`);
      return response;
    }
  };
}
