/**
 * The Calendar API's paths and what its answers mean to the tools. googleFetch already turned
 * rate limits, missing scopes and outages into errors; the rest (404, 409, 410, 412, 400) is
 * read here, once, into codes a model can act on.
 * https://developers.google.com/workspace/calendar/api/guides/errors
 */

import { AppError } from "../errors.ts";
import { googleErrorReasons } from "../google_fetch.ts";

/** `/calendar/v3/calendars/{calendarId}/events[/{eventId}][/suffix]`, each part escaped. */
export function eventsPath(calendarId: string, eventId?: string, suffix?: string): string {
  let path = `/calendar/v3/calendars/${encodeURIComponent(calendarId)}/events`;
  if (eventId !== undefined) path += `/${encodeURIComponent(eventId)}`;
  if (suffix !== undefined) path += `/${suffix}`;
  return path;
}

/** freebusy.query's path. */
export const FREEBUSY_PATH = "/calendar/v3/freeBusy";

/** The JSON of a 2xx answer; anything else becomes the AppError it means. */
export async function readGoogle<T>(res: Response, what = "event"): Promise<T> {
  if (res.ok) {
    const body = await res.json().catch(() => null);
    if (body === null || typeof body !== "object") {
      throw new AppError("google_unavailable", "Google Calendar sent an unexpected answer.");
    }
    return body as T;
  }
  throw await refusalOf(res, what);
}

/** The AppError a non-2xx Calendar answer means (its body is read). */
export async function refusalOf(res: Response, what = "event"): Promise<AppError> {
  const body: unknown = await res.json().catch(() => null);
  const cause = { name: "GoogleApiError", code: String(res.status) };
  switch (res.status) {
    case 404:
    case 410:
      return new AppError(
        "event_not_found",
        `No such ${what} (or it was deleted); check the id with list_events.`,
        { cause },
      );
    case 409:
    case 412:
      return new AppError(
        "calendar_conflict",
        "The event changed since you read it; get it again and retry with its new etag.",
        { cause },
      );
    case 403:
      return new AppError(
        "calendar_access_denied",
        "This calendar does not let the user do that; use a calendar they own (e.g. primary).",
        { cause },
      );
    case 400: {
      // Only Google's reason codes (e.g. "invalid", "required"), never its message: that is free
      // text, which may quote what was sent, and the kit answers in its own words.
      const reasons = googleErrorReasons(body).filter((r) => /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(r))
        .slice(0, 4).join(", ");
      return new AppError(
        "invalid_input",
        "Google Calendar refused the request; check the fields (ids, recurrence, attendees)" +
          (reasons ? ` (${reasons}).` : "."),
        { cause },
      );
    }
    default:
      return new AppError("google_error", "Google Calendar refused the request.", { cause });
  }
}

/**
 * The entry types a secretary talks about: meetings, focus time, events from Gmail; not
 * out-of-office, working-location or birthday entries.
 */
export const SECRETARY_EVENT_TYPES: readonly string[] = ["default", "focusTime", "fromGmail"];

/** One page of events.list. */
export interface EventsPage<E> {
  items?: E[];
  nextPageToken?: string;
  timeZone?: string;
}

/**
 * The calendar's own time zone: events.list reports it with every page (`timeZone`), and it
 * needs no scope beyond reading events (calendars.get would need calendar.readonly).
 */
export async function calendarTimeZone(
  google: (path: string, init?: RequestInit) => Promise<Response>,
  calendarId: string,
): Promise<string> {
  const query = new URLSearchParams({ maxResults: "1" });
  const page = await readGoogle<EventsPage<unknown>>(
    await google(`${eventsPath(calendarId)}?${query}`),
    "calendar",
  );
  return typeof page.timeZone === "string" && page.timeZone ? page.timeZone : "UTC";
}
