/** The slice of the Calendar API's events.list the project reads: seeding, filtering, paging. */

import { base64url } from "./crypto_utils.ts";

/** Google's `eventType` values. */
export const EVENT_TYPES = [
  "default",
  "birthday",
  "focusTime",
  "fromGmail",
  "outOfOffice",
  "workingLocation",
] as const;

/** One of {@linkcode EVENT_TYPES}. */
export type EventType = typeof EVENT_TYPES[number];

/** A timed (`dateTime`) or all-day (`date`, `YYYY-MM-DD`, end exclusive) event time. */
export type EventTime = { dateTime: string } | { date: string };

/** An event as seeded through the test controls. */
export interface SeedEvent {
  /** Omitted for an untitled event: Google then sends no `summary` at all. */
  summary?: string;
  start: EventTime;
  end: EventTime;
  id?: string;
  /** Default "default". */
  eventType?: EventType;
}

/** An event as events.list returns it. */
export interface CalendarEvent {
  kind: "calendar#event";
  id: string;
  status: "confirmed";
  summary?: string;
  start: EventTime;
  end: EventTime;
  eventType: EventType;
  transparency?: "transparent";
  visibility?: "private";
  birthdayProperties?: { type: "birthday" };
  outOfOfficeProperties?: { autoDeclineMode: string };
  workingLocationProperties?: { type: "homeOffice"; homeOffice: Record<string, never> };
  focusTimeProperties?: { autoDeclineMode: string };
}

/** A page of events.list. */
export interface EventsPage {
  items: CalendarEvent[];
  nextPageToken?: string;
}

/** Google's ceiling for `maxResults` ("the page size can never be larger than 2500"). */
export const MAX_PAGE_SIZE = 2500;
/** events.list's default `maxResults`. */
export const DEFAULT_PAGE_SIZE = 250;

const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** Checks untrusted seed items, returning an error message or the events. */
export function parseSeedEvents(items: unknown): CalendarEvent[] | string {
  if (!Array.isArray(items)) return "items must be an array";
  const events: CalendarEvent[] = [];
  for (const item of items) {
    const { summary, start, end, id, eventType } = (item ?? {}) as Record<string, unknown>;
    const startTime = eventTimeOf(start);
    const endTime = eventTimeOf(end);
    if (
      (summary !== undefined && typeof summary !== "string") || startTime === undefined ||
      endTime === undefined || ("date" in startTime) !== ("date" in endTime)
    ) {
      return "each item needs start and end, both dateTime (RFC 3339) or both date " +
        "(YYYY-MM-DD); summary, when given, is a string";
    }
    if (eventType !== undefined && !EVENT_TYPES.includes(eventType as EventType)) {
      return `eventType must be one of ${EVENT_TYPES.join(", ")}`;
    }
    const type = (eventType ?? "default") as EventType;
    const event: CalendarEvent = {
      kind: "calendar#event",
      id: typeof id === "string" ? id : crypto.randomUUID().replaceAll("-", ""),
      status: "confirmed",
      start: startTime,
      end: endTime,
      eventType: type,
    };
    if (typeof summary === "string") event.summary = summary;
    Object.assign(event, typeProperties(type));
    events.push(event);
  }
  return events;
}

/** The extra fields Google sends with each special event type. */
function typeProperties(type: EventType): Partial<CalendarEvent> {
  switch (type) {
    case "birthday":
      return {
        birthdayProperties: { type: "birthday" },
        transparency: "transparent",
        visibility: "private",
      };
    case "outOfOffice":
      return { outOfOfficeProperties: { autoDeclineMode: "declineNone" } };
    case "workingLocation":
      return {
        workingLocationProperties: { type: "homeOffice", homeOffice: {} },
        transparency: "transparent",
        visibility: "private",
      };
    case "focusTime":
      return { focusTimeProperties: { autoDeclineMode: "declineNone" } };
    default:
      return {};
  }
}

function eventTimeOf(value: unknown): EventTime | undefined {
  const { dateTime, date } = (value ?? {}) as { dateTime?: unknown; date?: unknown };
  if (typeof dateTime === "string" && date === undefined && !Number.isNaN(Date.parse(dateTime))) {
    return { dateTime };
  }
  if (typeof date === "string" && dateTime === undefined && DATE_PATTERN.test(date)) {
    if (!Number.isNaN(Date.parse(`${date}T00:00:00Z`))) return { date };
  }
  return undefined;
}

/** Milliseconds of an event time; all-day dates start at midnight in the calendar's zone (UTC). */
export function eventTimeMs(time: EventTime): number {
  return "date" in time ? Date.parse(`${time.date}T00:00:00Z`) : Date.parse(time.dateTime);
}

/** Options of {@linkcode listEvents}. */
export interface ListEventsOptions {
  /** The server's own page cap (at most {@linkcode MAX_PAGE_SIZE}). */
  pageCap?: number;
}

/** Applies events.list query parameters; returns an error message for a bad query. */
export function listEvents(
  events: readonly CalendarEvent[],
  query: URLSearchParams,
  options: ListEventsOptions = {},
): EventsPage | string {
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
  const maxResults = maxParam === null ? DEFAULT_PAGE_SIZE : Number(maxParam);
  if (!Number.isInteger(maxResults) || maxResults < 1) return "Invalid value for maxResults";
  const timeMin = parseBound(query.get("timeMin"), -Infinity);
  const timeMax = parseBound(query.get("timeMax"), Infinity);
  if (Number.isNaN(timeMin) || Number.isNaN(timeMax)) return "Bad Request";
  // Repeatable; when absent every type is returned.
  const types = query.getAll("eventTypes");
  const unknownType = types.find((type) => !EVENT_TYPES.includes(type as EventType));
  if (unknownType !== undefined) return `Invalid value for eventTypes: ${unknownType}`;
  const fingerprint = queryFingerprint(query);
  let offset = 0;
  const pageToken = query.get("pageToken");
  if (pageToken !== null) {
    const decoded = decodePageToken(pageToken);
    if (decoded === undefined || decoded.fingerprint !== fingerprint) {
      return "Invalid page token value.";
    }
    offset = decoded.offset;
  }
  const matching = events
    // Like Google: timeMin bounds the event's end, timeMax bounds its start.
    .filter((event) => eventTimeMs(event.end) > timeMin)
    .filter((event) => eventTimeMs(event.start) < timeMax)
    .filter((event) => types.length === 0 || types.includes(event.eventType))
    .toSorted((a, b) => eventTimeMs(a.start) - eventTimeMs(b.start));
  const cap = Math.min(options.pageCap ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  const size = Math.min(maxResults, cap);
  const items = matching.slice(offset, offset + size);
  const page: EventsPage = { items };
  if (offset + size < matching.length) {
    page.nextPageToken = encodePageToken({ offset: offset + size, fingerprint });
  }
  return page;
}

function parseBound(value: string | null, fallback: number): number {
  return value === null ? fallback : Date.parse(value);
}

/** The query minus the paging parameters: a page token only continues the same query. */
function queryFingerprint(query: URLSearchParams): string {
  const rest = [...query].filter(([name]) => name !== "pageToken" && name !== "maxResults");
  return rest.map(([name, value]) => `${name}=${value}`).sort().join("&");
}

interface PageCursor {
  offset: number;
  fingerprint: string;
}

/** An opaque page token (base64url JSON), like Google's opaque strings. */
export function encodePageToken(cursor: PageCursor): string {
  return base64url(new TextEncoder().encode(JSON.stringify([cursor.offset, cursor.fingerprint])));
}

/** The cursor of a page token, or undefined for a token the emulator never issued. */
export function decodePageToken(token: string): PageCursor | undefined {
  try {
    const binary = atob(token.replaceAll("-", "+").replaceAll("_", "/"));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
    const [offset, fingerprint] = JSON.parse(json) as unknown[];
    if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) return undefined;
    if (typeof fingerprint !== "string") return undefined;
    return { offset, fingerprint };
  } catch {
    return undefined;
  }
}
