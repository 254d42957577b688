/**
 * calendar-upcoming: an example consumer and the template for calendar skills. It lists the
 * user's next events through googleFetch, following `nextPageToken` until `max_results`, and
 * asks only for the event types a secretary talks about.
 */

import {
  AppError,
  errorResponse,
  googleFetch,
  jsonResponse,
  logError,
  readUserRequest,
} from "../_google_calendar/mod.ts";

/** The methods calendar-upcoming answers. */
export const UPCOMING_METHODS = ["GET", "POST"] as const;

interface CalendarEvent {
  id?: string;
  summary?: string;
  eventType?: string;
  start?: { dateTime?: string; date?: string };
  end?: { dateTime?: string; date?: string };
}

/** Meetings and reminders; not out-of-office, working-location or birthday entries. */
const EVENT_TYPES = ["default", "focusTime", "fromGmail"];

/** The calendar-upcoming handler. */
export async function handleUpcoming(req: Request): Promise<Response> {
  try {
    const { userId, params } = await readUserRequest(req, {
      methods: UPCOMING_METHODS,
      params: ["max_results"],
    });
    const max = Number(params.get("max_results") ?? "10");
    if (!Number.isInteger(max) || max < 1 || max > 50) {
      throw new AppError("invalid_request", "max_results must be a whole number from 1 to 50.");
    }
    const events: CalendarEvent[] = [];
    // Fixed once: a page token only continues the query that issued it, so every page must ask
    // with the same timeMin (Google answers 400 "Invalid page token value." otherwise).
    const timeMin = new Date().toISOString();
    let pageToken: string | undefined;
    do {
      const query = new URLSearchParams({
        timeMin,
        maxResults: String(max - events.length),
        singleEvents: "true",
        orderBy: "startTime",
      });
      for (const type of EVENT_TYPES) query.append("eventTypes", type);
      if (pageToken) query.set("pageToken", pageToken);
      const res = await googleFetch(userId, `/calendar/v3/calendars/primary/events?${query}`);
      const page = await res.json().catch(() => null) as
        | { items?: CalendarEvent[]; nextPageToken?: string }
        | null;
      if (!res.ok) {
        // A 4xx googleFetch left to us (e.g. a page token Google refused): not an outage.
        throw new AppError("google_error", "Google Calendar refused the listing.", {
          cause: { name: "GoogleApiError", code: String(res.status) },
        });
      }
      if (!page || !Array.isArray(page.items)) {
        throw new AppError("google_unavailable", "Google Calendar sent an unexpected answer.");
      }
      events.push(...page.items.slice(0, max - events.length));
      pageToken = page.nextPageToken;
    } while (pageToken && events.length < max);
    return jsonResponse(200, { user_id: userId, events: events.map(describeEvent) });
  } catch (error) {
    logError("calendar-upcoming", error);
    return errorResponse(error, UPCOMING_METHODS);
  }
}

/** All-day events have a `date` and no time: said so, rather than passed off as midnight. */
function describeEvent(e: CalendarEvent) {
  const allDay = e.start?.date !== undefined && e.start?.dateTime === undefined;
  return {
    id: e.id ?? null,
    summary: e.summary ?? null,
    all_day: allDay,
    start: e.start?.dateTime ?? e.start?.date ?? null,
    end: e.end?.dateTime ?? e.end?.date ?? null,
  };
}
