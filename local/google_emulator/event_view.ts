/**
 * Stored events as the API shows them (the Event resource), and the virtual instances of a
 * recurring series. Times are rendered in the response's zone (the `timeZone` parameter, else
 * the calendar's), as Google does; `start.timeZone` stays the event's own.
 * https://developers.google.com/calendar/api/v3/reference/events#resource
 *
 * @module
 */

import { base64url } from "./crypto_utils.ts";
import {
  type EventDateTime,
  formatDate,
  formatInZone,
  isoMillis,
  utcToWall,
} from "./calendar_time.ts";
import type { Calendar, StoredEvent } from "./calendar_store.ts";
import type { Occurrence, SeriesTimes } from "./recurrence.ts";

/** The zone a series recurs in: its start.timeZone, else the calendar's. */
export function seriesTimes(calendar: Calendar, event: StoredEvent): SeriesTimes {
  const start = event.fields.start as EventDateTime;
  return {
    startMs: event.startMs,
    endMs: event.endMs,
    allDay: event.allDay,
    zone: event.allDay ? calendar.timeZone : start.timeZone ?? calendar.timeZone,
    recurrence: (event.fields.recurrence as string[] | undefined) ?? [],
  };
}

/** True for a recurring series (master) event. */
export function isSeries(event: StoredEvent): boolean {
  return Array.isArray(event.fields.recurrence) && event.fields.recurrence.length > 0;
}

/** The not-yet-changed instance of a series at one occurrence. */
export function virtualInstance(
  calendar: Calendar,
  series: StoredEvent,
  occurrence: Occurrence,
): StoredEvent {
  const { recurrence: _, ...fields } = series.fields;
  const zone = seriesTimes(calendar, series).zone;
  fields.start = timeField(occurrence.startMs, series.allDay, zone, series.fields.start);
  fields.end = timeField(occurrence.endMs, series.allDay, zone, series.fields.end);
  return {
    ...series,
    id: `${series.id}_${occurrence.stamp}`,
    fields,
    startMs: occurrence.startMs,
    endMs: occurrence.endMs,
    recurringEventId: series.id,
    originalStartMs: occurrence.startMs,
  };
}

function timeField(ms: number, allDay: boolean, zone: string, like: unknown): EventDateTime {
  if (allDay) return { date: formatDate(utcToWall(ms, zone)) };
  const timeZone = (like as EventDateTime | undefined)?.timeZone;
  const out: EventDateTime = { dateTime: formatInZone(ms, zone) };
  if (timeZone !== undefined) out.timeZone = timeZone;
  return out;
}

/** Options of {@linkcode renderEvent}. */
export interface RenderOptions {
  /** The response's zone. */
  zone: string;
  /** In lists, a cancelled event shows only what Google guarantees (id, status, series link). */
  minimalCancelled?: boolean;
  /** The `maxAttendees` parameter: longer lists are cut and `attendeesOmitted` is set. */
  maxAttendees?: number;
}

/** The Event resource of a stored (or virtual) event. */
export function renderEvent(
  calendar: Calendar,
  event: StoredEvent,
  options: RenderOptions,
): Record<string, unknown> {
  const { zone } = options;
  const seriesZone = event.allDay ? calendar.timeZone : zone;
  const out: Record<string, unknown> = {
    kind: "calendar#event",
    etag: event.etag,
    id: event.id,
    status: event.status,
  };
  const original = () => {
    if (event.originalStartMs === undefined) return undefined;
    const like = event.fields.start as EventDateTime | undefined;
    if (event.allDay) {
      return { date: formatDate(utcToWall(event.originalStartMs, calendar.timeZone)) };
    }
    const time: EventDateTime = { dateTime: formatInZone(event.originalStartMs, zone) };
    if (like?.timeZone !== undefined) time.timeZone = like.timeZone;
    return time;
  };
  if (event.status === "cancelled" && options.minimalCancelled === true) {
    if (event.recurringEventId !== undefined) {
      out.recurringEventId = event.recurringEventId;
      out.originalStartTime = original();
    }
    return out;
  }
  const { fields } = event;
  out.htmlLink = `https://www.google.com/calendar/event?eid=${
    base64url(new TextEncoder().encode(`${event.id} ${calendar.id}`))
  }`;
  out.created = isoMillis(event.created);
  out.updated = isoMillis(event.updated);
  for (const key of ["summary", "description", "location", "colorId", "creator", "organizer"]) {
    if (fields[key] !== undefined) out[key] = fields[key];
  }
  out.start = timeField(event.startMs, event.allDay, seriesZone, fields.start);
  out.end = timeField(event.endMs, event.allDay, seriesZone, fields.end);
  if (fields.endTimeUnspecified !== undefined) out.endTimeUnspecified = fields.endTimeUnspecified;
  if (fields.recurrence !== undefined) out.recurrence = fields.recurrence;
  if (event.recurringEventId !== undefined) {
    out.recurringEventId = event.recurringEventId;
    out.originalStartTime = original();
  }
  for (const key of ["transparency", "visibility"]) {
    if (fields[key] !== undefined) out[key] = fields[key];
  }
  out.iCalUID = event.iCalUID;
  out.sequence = event.sequence;
  const attendees = fields.attendees as unknown[] | undefined;
  if (attendees !== undefined) {
    const max = options.maxAttendees;
    if (max !== undefined && attendees.length > max) {
      // Google keeps the requester's own entry when it cuts the list.
      const self = attendees.filter((a) => (a as { self?: boolean }).self === true);
      out.attendees = [...self, ...attendees.filter((a) => !self.includes(a))].slice(0, max);
      out.attendeesOmitted = true;
    } else out.attendees = attendees;
  }
  for (const key of ["hangoutLink", "conferenceData", "extendedProperties"]) {
    if (fields[key] !== undefined) out[key] = fields[key];
  }
  for (const key of ["guestsCanInviteOthers", "guestsCanModify", "guestsCanSeeOtherGuests"]) {
    if (fields[key] !== undefined) out[key] = fields[key];
  }
  out.reminders = fields.reminders ?? { useDefault: true };
  if (fields.source !== undefined) out.source = fields.source;
  out.eventType = fields.eventType ?? "default";
  for (
    const key of [
      "birthdayProperties",
      "outOfOfficeProperties",
      "focusTimeProperties",
      "workingLocationProperties",
    ]
  ) {
    if (fields[key] !== undefined) out[key] = fields[key];
  }
  return out;
}
