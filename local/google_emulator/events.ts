/** The Calendar endpoint `GET /calendar/v3/calendars/primary/events` (events.list). */

import { listEvents } from "./calendar.ts";
import { calendarErrorResponse } from "./calendar_errors.ts";
import { allowsCalendarRead } from "./scopes.ts";
import type { EmulatorState } from "./state.ts";

/** Path of events.list on the primary calendar. */
export const EVENTS_PATH = "/calendar/v3/calendars/primary/events";

/** `GET /calendar/v3/calendars/primary/events`. */
export function eventsEndpoint(
  state: EmulatorState,
  req: Request,
  query: URLSearchParams,
): Response {
  const response = (() => {
    // Google stopped accepting access tokens in the query string.
    if (query.has("access_token")) return calendarErrorResponse("required");
    const header = req.headers.get("authorization") ?? "";
    const match = /^bearer\s+(\S+)$/i.exec(header);
    if (match === null) return calendarErrorResponse("required");
    const record = state.accessTokens.get(match[1] as string);
    if (!state.accessTokenWorks(record)) return calendarErrorResponse("authError");
    if (!allowsCalendarRead(record.scopes)) return calendarErrorResponse("insufficientPermissions");
    const page = listEvents(state.events.get(record.email) ?? [], query, {
      pageCap: state.config.eventsPageCap,
    });
    if (typeof page === "string") return calendarErrorResponse("badRequest", { message: page });
    const body: Record<string, unknown> = {
      kind: "calendar#events",
      etag: `"${state.now()}"`,
      summary: record.email,
      updated: new Date(state.now()).toISOString(),
      timeZone: "UTC",
      accessRole: "owner",
      defaultReminders: [],
    };
    if (page.nextPageToken !== undefined) body.nextPageToken = page.nextPageToken;
    body.items = page.items;
    return Response.json(body);
  })();
  state.stats.eventsCalls[response.ok ? "ok" : "error"] += 1;
  return response;
}
