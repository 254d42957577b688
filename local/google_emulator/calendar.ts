/** The slice of the Calendar API's events.list the project reads. */

/** An event as seeded through the test controls. */
export interface SeedEvent {
  summary: string;
  start: { dateTime: string };
  end: { dateTime: string };
  id?: string;
}

/** An event as events.list returns it. */
export interface CalendarEvent {
  kind: "calendar#event";
  id: string;
  status: "confirmed";
  summary: string;
  start: { dateTime: string };
  end: { dateTime: string };
}

/** Checks untrusted seed items, returning an error message or the events. */
export function parseSeedEvents(items: unknown): CalendarEvent[] | string {
  if (!Array.isArray(items)) return "items must be an array";
  const events: CalendarEvent[] = [];
  for (const item of items) {
    const { summary, start, end, id } = (item ?? {}) as Record<string, unknown>;
    const startTime = dateTimeOf(start);
    const endTime = dateTimeOf(end);
    if (typeof summary !== "string" || startTime === undefined || endTime === undefined) {
      return "each item needs summary, start.dateTime and end.dateTime (RFC 3339)";
    }
    events.push({
      kind: "calendar#event",
      id: typeof id === "string" ? id : crypto.randomUUID().replaceAll("-", ""),
      status: "confirmed",
      summary,
      start: { dateTime: startTime },
      end: { dateTime: endTime },
    });
  }
  return events;
}

function dateTimeOf(value: unknown): string | undefined {
  const dateTime = (value as { dateTime?: unknown } | null | undefined)?.dateTime;
  return typeof dateTime === "string" && !Number.isNaN(Date.parse(dateTime)) ? dateTime : undefined;
}

/** Applies events.list query parameters; returns an error message for a bad query. */
export function listEvents(
  events: readonly CalendarEvent[],
  query: URLSearchParams,
): CalendarEvent[] | string {
  const orderBy = query.get("orderBy");
  const singleEvents = query.get("singleEvents") === "true";
  if (orderBy !== null && orderBy !== "startTime" && orderBy !== "updated") {
    return "Invalid value for orderBy";
  }
  // Google refuses to order recurring series by start unless they are expanded.
  if (orderBy === "startTime" && !singleEvents) {
    return "The requested ordering is not available for the particular query.";
  }
  const maxParam = query.get("maxResults");
  const maxResults = maxParam === null ? 250 : Number(maxParam);
  if (!Number.isInteger(maxResults) || maxResults < 1) return "Invalid value for maxResults";
  const timeMin = parseBound(query.get("timeMin"), -Infinity);
  const timeMax = parseBound(query.get("timeMax"), Infinity);
  if (Number.isNaN(timeMin) || Number.isNaN(timeMax)) return "Bad Request";
  return events
    // Like Google: timeMin bounds the event's end, timeMax bounds its start.
    .filter((event) => Date.parse(event.end.dateTime) > timeMin)
    .filter((event) => Date.parse(event.start.dateTime) < timeMax)
    .toSorted((a, b) => Date.parse(a.start.dateTime) - Date.parse(b.start.dateTime))
    .slice(0, Math.min(maxResults, 2500));
}

function parseBound(value: string | null, fallback: number): number {
  return value === null ? fallback : Date.parse(value);
}
