/**
 * calendar-upcoming: an example consumer and a template for calendar skills. It gets a valid
 * token with getGoogleAccessToken and lists the user's next events from the Calendar API.
 */

import type { AccessTokenProvider } from "./access_token.ts";
import type { CallerVerifier } from "./caller_auth.ts";
import { AppError, describeForLog } from "./errors.ts";
import { errorResponse, jsonResponse } from "./http.ts";
import { readUserRequest } from "./request_input.ts";
import { fetchWithTimeout } from "./supabase_admin.ts";

export const UPCOMING_METHODS = ["GET", "POST"] as const;

interface CalendarEvent {
  id?: string;
  summary?: string;
  start?: { dateTime?: string; date?: string };
  end?: { dateTime?: string; date?: string };
}

export function createUpcomingHandler(deps: {
  callers: CallerVerifier;
  accessTokens: AccessTokenProvider;
  apiBaseUrl: string;
  timeoutMs: number;
}): (req: Request) => Promise<Response> {
  const fetchCalendar = fetchWithTimeout(deps.timeoutMs);
  return async (req) => {
    try {
      const { userId, params } = await readUserRequest(req, deps.callers, {
        methods: UPCOMING_METHODS,
        params: ["max_results"],
      });
      const max = Number(params.get("max_results") ?? "10");
      if (!Number.isInteger(max) || max < 1 || max > 50) {
        throw new AppError("invalid_request", "max_results must be a whole number from 1 to 50.");
      }
      const { accessToken } = await deps.accessTokens.getGoogleAccessToken(userId);
      const url = new URL(`${deps.apiBaseUrl}/calendar/v3/calendars/primary/events`);
      url.searchParams.set("timeMin", new Date().toISOString());
      url.searchParams.set("maxResults", String(max));
      url.searchParams.set("singleEvents", "true");
      url.searchParams.set("orderBy", "startTime");
      // The token goes in the Authorization header, never in the URL.
      const res = await fetchCalendar(url, { headers: { authorization: `Bearer ${accessToken}` } })
        .catch((error) => {
          throw new AppError("google_unavailable", "Google Calendar is not answering.", {
            cause: error,
          });
        });
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw new AppError("google_reconnect_required", "Google refused the calendar request.");
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new AppError("google_unavailable", "Google Calendar is not answering.");
      }
      const body = await res.json().catch(() => null) as { items?: CalendarEvent[] } | null;
      if (!body || !Array.isArray(body.items)) {
        throw new AppError("google_unavailable", "Google Calendar sent an unexpected answer.");
      }
      return jsonResponse(200, {
        user_id: userId,
        events: body.items.map((e) => ({
          id: e.id ?? null,
          summary: e.summary ?? null,
          start: e.start?.dateTime ?? e.start?.date ?? null,
          end: e.end?.dateTime ?? e.end?.date ?? null,
        })),
      });
    } catch (error) {
      const response = errorResponse(error, UPCOMING_METHODS);
      if (response.status >= 500) console.error(`calendar-upcoming: ${describeForLog(error)}`);
      return response;
    }
  };
}
