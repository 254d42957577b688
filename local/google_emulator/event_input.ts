/**
 * What events.insert, events.update and events.patch accept: the writable fields of the Event
 * resource, checked the way Google checks them, then written onto a stored event. Unknown and
 * read-only fields are ignored, as Google ignores them.
 * https://developers.google.com/calendar/api/v3/reference/events#resource
 * https://developers.google.com/calendar/api/v3/reference/events/insert
 *
 * @module
 */

import {
  type EventDateTime,
  isTimeZone,
  parseDate,
  parseDateTime,
  wallToUtc,
} from "./calendar_time.ts";
import type { Calendar, EventStatus, StoredEvent } from "./calendar_store.ts";
import type { InputError } from "./calendar_errors.ts";
import { conferenceFor } from "./conference.ts";
import { parseRecurrence } from "./recurrence.ts";

export type { InputError };

/** Fields a client may write (Event resource, "writable"). */
const WRITABLE = [
  "summary",
  "description",
  "location",
  "colorId",
  "start",
  "end",
  "endTimeUnspecified",
  "recurrence",
  "attendees",
  "reminders",
  "transparency",
  "visibility",
  "extendedProperties",
  "conferenceData",
  "guestsCanInviteOthers",
  "guestsCanModify",
  "guestsCanSeeOtherGuests",
  "anyoneCanAddSelf",
  "source",
  "eventType",
  "outOfOfficeProperties",
  "focusTimeProperties",
  "workingLocationProperties",
  "birthdayProperties",
] as const;

const ENUMS: Readonly<Record<string, readonly string[]>> = {
  status: ["confirmed", "tentative", "cancelled"],
  transparency: ["opaque", "transparent"],
  visibility: ["default", "public", "private", "confidential"],
  eventType: [
    "default",
    "birthday",
    "focusTime",
    "fromGmail",
    "outOfOffice",
    "workingLocation",
  ],
};
const RESPONSE_STATUSES = ["needsAction", "declined", "tentative", "accepted"];
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** How a write treats the body. */
export interface WriteOptions {
  mode: "insert" | "update" | "patch";
  /** The `conferenceDataVersion` query parameter (0 ignores `conferenceData`). */
  conferenceDataVersion: number;
  /** Only test controls may set another organizer ("an invitation from someone else"). */
  allowOrganizer?: boolean;
}

const invalid = (message: string, reason = "invalid"): InputError => ({
  status: 400,
  reason,
  message,
});

/** Writes `input` onto `event` (mutating it) after checking it; returns an error and changes nothing when refused. */
export function applyEventInput(
  calendar: Calendar,
  event: StoredEvent,
  input: Record<string, unknown>,
  options: WriteOptions,
): InputError | undefined {
  const given: Record<string, unknown> = {};
  for (const key of WRITABLE) if (key in input) given[key] = input[key];
  if (options.conferenceDataVersion < 1) delete given.conferenceData;
  const fields = options.mode === "patch"
    ? mergePatch(event.fields, given)
    : { ...given, ...keepOnReplace(event.fields) };
  for (const [key, value] of Object.entries(fields)) if (value === null) delete fields[key];
  for (const [name, allowed] of Object.entries(ENUMS)) {
    const value = name === "status" ? input.status : fields[name];
    if (value !== undefined && value !== null && !allowed.includes(value as string)) {
      return invalid(`Invalid value for ${name}: ${String(value)}`);
    }
  }
  for (const name of ["summary", "description", "location", "colorId"]) {
    if (fields[name] !== undefined && typeof fields[name] !== "string") {
      return invalid(`Invalid value for ${name}.`);
    }
  }
  const times = resolveTimes(calendar, fields);
  if ("reason" in times) return times;
  if (fields.recurrence !== undefined) {
    const recurrence = fields.recurrence;
    if (!Array.isArray(recurrence) || recurrence.some((line) => typeof line !== "string")) {
      return invalid("Invalid recurrence rule.");
    }
    if (recurrence.length === 0) delete fields.recurrence;
    else {
      if (event.recurringEventId !== undefined) return invalid("Invalid recurrence rule.");
      const start = fields.start as EventDateTime;
      if (!times.allDay && start.timeZone === undefined) {
        return invalid("Missing time zone definition for start time.", "required");
      }
      if (parseRecurrence(recurrence as string[]) === undefined) {
        return invalid("Invalid recurrence rule.");
      }
    }
  }
  const organizer = organizerOf(calendar, event, input, options);
  if ("reason" in organizer) return organizer;
  const attendees = normaliseAttendees(calendar, organizer.email, fields.attendees);
  if (attendees !== undefined && "reason" in attendees) return attendees;
  if (attendees === undefined) delete fields.attendees;
  else fields.attendees = attendees;
  const reminders = checkReminders(fields.reminders);
  if (reminders !== undefined) return reminders;
  if (fields.conferenceData !== undefined) {
    const conference = conferenceFor(fields.conferenceData, event.fields.conferenceData);
    if ("reason" in conference) return conference;
    fields.conferenceData = conference.conferenceData;
    if (conference.hangoutLink !== undefined) fields.hangoutLink = conference.hangoutLink;
  } else delete fields.hangoutLink;
  fields.organizer = organizer;
  fields.creator ??= organizer.self === true ? { email: calendar.owner, self: true } : {
    email: organizer.email,
    ...(organizer.displayName ? { displayName: organizer.displayName } : {}),
  };
  const timesChanged = event.startMs !== times.startMs || event.endMs !== times.endMs ||
    JSON.stringify(event.fields.recurrence) !== JSON.stringify(fields.recurrence);
  const status = (input.status ?? (options.mode === "patch" ? event.status : "confirmed")) as
    | EventStatus
    | null;
  if (options.mode !== "insert" && (timesChanged || status !== event.status)) event.sequence += 1;
  event.fields = fields;
  event.status = status ?? "confirmed";
  event.startMs = times.startMs;
  event.endMs = times.endMs;
  event.allDay = times.allDay;
  return undefined;
}

/** Server-kept fields that a full update does not erase. */
function keepOnReplace(fields: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const key of ["creator", "hangoutLink"]) if (key in fields) kept[key] = fields[key];
  if (fields.organizer !== undefined) kept.organizer = fields.organizer;
  return kept;
}

/**
 * Patch semantics: objects merge field by field, arrays and scalars replace, null clears (at
 * any depth; a top-level null is cleared by the caller). Switching an event between timed and
 * all-day therefore needs the other form nulled: `{ "start": { "dateTime": …, "date": null } }`;
 * without it the merged time has both, which Google refuses. Google's answer on its tracker
 * (apps-api-issues 3110, "Patching an event from all-day to non-all-day fails"): "The patch
 * operation takes the original event and changes/adds/removes entries as specified by the
 * request … the resulting event ends up with both the dateTime and date fields set (which is
 * not allowed). So the PATCH request needs to clear the date field".
 * https://developers.google.com/calendar/api/guides/performance#patch
 */
export function mergePatch(
  base: Record<string, unknown>,
  patch: Record<string, unknown>,
  depth = 0,
): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(base);
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    if (value === null && depth > 0) delete out[key];
    else if (isPlainObject(value) && isPlainObject(current)) {
      out[key] = mergePatch(current, value, depth + 1);
    } else out[key] = structuredClone(value);
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

type Times = { startMs: number; endMs: number; allDay: boolean };

/** Checks `start` and `end` and resolves them to instants. */
export function resolveTimes(
  calendar: Calendar,
  fields: Record<string, unknown>,
): Times | InputError {
  const start = fields.start as EventDateTime | undefined;
  const end = fields.end as EventDateTime | undefined;
  if (!isPlainObject(start)) return invalid("Missing start time.", "required");
  if (!isPlainObject(end)) return invalid("Missing end time.", "required");
  const one = (time: EventDateTime, which: "start" | "end") => {
    if (time.timeZone !== undefined) {
      if (typeof time.timeZone !== "string" || !isTimeZone(time.timeZone)) {
        return invalid(`Invalid time zone definition for ${which} time.`);
      }
    }
    if (time.date !== undefined && time.dateTime === undefined) {
      const wall = typeof time.date === "string" ? parseDate(time.date) : undefined;
      if (wall === undefined) return invalid(`Invalid ${which} time.`);
      return { ms: wallToUtc(wall, calendar.timeZone), allDay: true };
    }
    if (time.dateTime === undefined || typeof time.dateTime !== "string") {
      return invalid(`Missing ${which} time.`, "required");
    }
    if (time.date !== undefined) {
      return invalid("Start and end times must either both be date or both be dateTime.");
    }
    const ms = parseDateTime(time.dateTime, time.timeZone);
    if (ms !== undefined) return { ms, allDay: false };
    return parseDateTime(time.dateTime, "UTC") === undefined
      ? invalid(`Invalid ${which} time.`)
      : invalid(`Missing time zone definition for ${which} time.`, "required");
  };
  const s = one(start, "start");
  if ("reason" in s) return s;
  const e = one(end, "end");
  if ("reason" in e) return e;
  if (s.allDay !== e.allDay) {
    return invalid("Start and end times must either both be date or both be dateTime.");
  }
  if (e.ms < s.ms) return invalid("The specified time range is empty.", "timeRangeEmpty");
  return { startMs: s.ms, endMs: e.ms, allDay: s.allDay };
}

function organizerOf(
  calendar: Calendar,
  event: StoredEvent,
  input: Record<string, unknown>,
  options: WriteOptions,
): { email: string; self?: true; displayName?: string } | InputError {
  const given = input.organizer;
  if (options.allowOrganizer === true && isPlainObject(given)) {
    if (typeof given.email !== "string" || !EMAIL.test(given.email)) {
      return invalid("Invalid organizer email.");
    }
    const email = given.email.toLowerCase();
    const organizer: { email: string; self?: true; displayName?: string } = { email };
    if (typeof given.displayName === "string") organizer.displayName = given.displayName;
    if (email === calendar.owner) organizer.self = true;
    return organizer;
  }
  const existing = event.fields.organizer as { email: string; self?: true } | undefined;
  return existing ?? { email: calendar.owner, self: true };
}

/** Attendees with Google's defaults: `responseStatus` needsAction, `self`, `organizer`. */
function normaliseAttendees(
  calendar: Calendar,
  organizer: string,
  value: unknown,
): Record<string, unknown>[] | InputError | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return invalid("Invalid attendees.");
  const seen = new Set<string>();
  const out: Record<string, unknown>[] = [];
  for (const raw of value) {
    if (!isPlainObject(raw)) return invalid("Invalid attendees.");
    if (raw.email === undefined) return invalid("Missing attendee email.", "required");
    if (typeof raw.email !== "string" || !EMAIL.test(raw.email)) {
      return invalid("Invalid attendee email.");
    }
    const email = raw.email.toLowerCase();
    if (seen.has(email)) continue;
    seen.add(email);
    // The organizer attends their own event: Google marks their entry accepted.
    const status = raw.responseStatus ??
      (email === organizer && email === calendar.owner ? "accepted" : "needsAction");
    if (!RESPONSE_STATUSES.includes(status as string)) {
      return invalid(`Invalid value for responseStatus: ${String(status)}`);
    }
    const attendee: Record<string, unknown> = { email };
    for (const key of ["displayName", "comment"]) {
      if (typeof raw[key] === "string") attendee[key] = raw[key];
    }
    if (raw.optional === true) attendee.optional = true;
    if (typeof raw.additionalGuests === "number") attendee.additionalGuests = raw.additionalGuests;
    if (email === organizer) attendee.organizer = true;
    if (email === calendar.owner) attendee.self = true;
    attendee.responseStatus = status;
    out.push(attendee);
  }
  return out.length === 0 ? undefined : out;
}

/** `reminders`: `useDefault` with no overrides, or up to 5 overrides of 0..40320 minutes. */
function checkReminders(value: unknown): InputError | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) return invalid("Invalid reminders.");
  const overrides = value.overrides;
  if (overrides === undefined) return undefined;
  if (!Array.isArray(overrides) || overrides.length > 5) {
    return invalid("Invalid reminder overrides.");
  }
  if (value.useDefault === true && overrides.length > 0) {
    return invalid(
      "Cannot specify both default reminders and overrides at the same time.",
      "cannotUseDefaultRemindersAndSpecifyOverride",
    );
  }
  for (const reminder of overrides) {
    const { method, minutes } = (reminder ?? {}) as Record<string, unknown>;
    if (method !== "email" && method !== "popup") return invalid("Invalid reminder method.");
    if (!Number.isInteger(minutes) || (minutes as number) < 0 || (minutes as number) > 40320) {
      return invalid("Invalid reminder minutes.");
    }
  }
  return undefined;
}
