/** Seeding events through the test controls: event types and the seed format. */

import { newEventId } from "./calendar_store.ts";

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
      id: typeof id === "string" ? id : newEventId(),
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
