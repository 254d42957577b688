/**
 * Google Calendar's Event resource, as far as the tools read it, and the compact shape the tools
 * answer with: what a model needs to talk about an event and act on it, nothing more.
 * https://developers.google.com/workspace/calendar/api/v3/reference/events
 */

/** Google's EventDateTime: `date` for all-day events, else `dateTime` (and its zone). */
export interface GoogleEventTime {
  date?: string;
  dateTime?: string;
  timeZone?: string;
}

/** One attendee of a Google event. */
export interface GoogleAttendee {
  email?: string;
  displayName?: string;
  responseStatus?: string;
  self?: boolean;
  organizer?: boolean;
  optional?: boolean;
}

/** The fields of a Google event the tools read. */
export interface GoogleEvent {
  id?: string;
  etag?: string;
  status?: string;
  summary?: string;
  description?: string;
  location?: string;
  htmlLink?: string;
  hangoutLink?: string;
  start?: GoogleEventTime;
  end?: GoogleEventTime;
  recurrence?: string[];
  recurringEventId?: string;
  originalStartTime?: GoogleEventTime;
  attendees?: GoogleAttendee[];
  organizer?: { email?: string; self?: boolean };
  transparency?: string;
  eventType?: string;
}

/** The tools' view of an event: snake_case, absent fields left out. */
export interface CompactEvent {
  id: string;
  summary: string | null;
  start: string | null;
  end: string | null;
  all_day: boolean;
  time_zone?: string;
  status: string;
  description?: string;
  location?: string;
  attendees?: { email: string; response_status: string; self?: true; organizer?: true }[];
  organizer_email?: string;
  recurrence?: string[];
  recurring_event_id?: string;
  html_link?: string;
  hangout_link?: string;
  etag?: string;
  busy?: false;
}

/**
 * The compact shape of `e`. All-day events have dates, and `end` is the day after the last, as
 * in Google and iCalendar. `fallbackTimeZone` (the listing's) names the zone when the event has
 * none of its own.
 */
export function compactEvent(e: GoogleEvent, fallbackTimeZone?: string): CompactEvent {
  const allDay = e.start?.date !== undefined && e.start?.dateTime === undefined;
  const out: CompactEvent = {
    id: e.id ?? "",
    summary: e.summary ?? null,
    start: e.start?.dateTime ?? e.start?.date ?? null,
    end: e.end?.dateTime ?? e.end?.date ?? null,
    all_day: allDay,
    status: e.status ?? "confirmed",
  };
  const zone = e.start?.timeZone ?? fallbackTimeZone;
  if (zone) out.time_zone = zone;
  if (e.description) out.description = e.description;
  if (e.location) out.location = e.location;
  if (e.attendees?.length) {
    out.attendees = e.attendees.filter((a) => a.email).map((a) => ({
      email: a.email!,
      response_status: a.responseStatus ?? "needsAction",
      ...(a.self ? { self: true as const } : {}),
      ...(a.organizer ? { organizer: true as const } : {}),
    }));
  }
  if (e.organizer?.email) out.organizer_email = e.organizer.email;
  if (e.recurrence?.length) out.recurrence = e.recurrence;
  if (e.recurringEventId) out.recurring_event_id = e.recurringEventId;
  if (e.htmlLink) out.html_link = e.htmlLink;
  if (e.hangoutLink) out.hangout_link = e.hangoutLink;
  if (e.etag) out.etag = e.etag;
  if (e.transparency === "transparent") out.busy = false;
  return out;
}
