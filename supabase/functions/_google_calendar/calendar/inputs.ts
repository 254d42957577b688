/**
 * The pieces the tools' input schemas share (zod 4), with sane bounds, and the checks that need
 * more than one field (end after start, ranges, time zones). Every check runs before any Google
 * call; a failure names its field.
 */

import { z } from "zod";
import { Temporal } from "temporal-polyfill";
import type { GoogleEventTime } from "./google_event.ts";
import { dateTimeForm, isTimeZone, plainDate, toInstant } from "./time.ts";

/** The longest range a listing, or an event, may span. */
export const MAX_RANGE_DAYS = 366;
const DAY_MS = 86_400_000;

/** A check of one field that failed: thrown by the resolvers, reported as a zod issue. */
export class InputProblem extends Error {
  readonly field: string;
  readonly code: "invalid_input" | "invalid_time_range";
  constructor(field: string, message: string, code: InputProblem["code"] = "invalid_input") {
    super(message);
    this.name = "InputProblem";
    this.field = field;
    this.code = code;
  }
}

/** Runs `check`, turning an InputProblem into an issue of `ctx` (with its code in params). */
export function refineWith<T>(check: (value: T) => void) {
  return (value: T, ctx: z.RefinementCtx) => {
    try {
      check(value);
    } catch (caught) {
      // A field that already failed its own check (e.g. an unknown time_zone) can make a
      // cross-field check throw: that field's issue comes first and says it.
      const error = caught instanceof InputProblem
        ? caught
        : new InputProblem("input", "could not be read; check each field.");
      ctx.addIssue({
        code: "custom",
        message: error.message,
        path: [error.field],
        params: { code: error.code },
      });
    }
  };
}

/** An IANA time zone. */
export const timeZone = z.string().max(64).refine(isTimeZone, {
  error: "must be an IANA time zone such as Europe/Paris.",
});

/** A date-time: RFC 3339 with an offset, or a local date-time used with `time_zone`. */
export const dateTime = z.string().max(40).refine((v) => dateTimeForm(v) !== "invalid", {
  error: "must be like 2026-03-30T09:00:00+02:00, or 2026-03-30T09:00 with time_zone.",
});

/** A calendar date. */
export const date = z.string().max(10).refine((v) => plainDate(v) !== null, {
  error: "must be a date like 2026-03-30.",
});

/**
 * Which calendar: `primary` (the user's own) by default. Never only dots: `.` and `..` survive
 * encodeURIComponent and would move the request's path up (`calendars/../events`).
 */
export const calendarId = z.string().min(1).max(254).regex(/^(?!\.+$)[A-Za-z0-9._@+-]+$/, {
  error: "must be a calendar id such as primary.",
}).default("primary").describe("The calendar; primary (the user's own) unless told otherwise.");

/** An event id as Google writes them, an occurrence's included (`abc_20260406T070000Z`). */
export const eventId = z.string().min(1).max(1024).regex(/^[A-Za-z0-9_-]+$/, {
  error: "must be an event id from list_events or get_event.",
});

/** Whom Google emails about the change. */
export const sendUpdates = z.enum(["all", "externalOnly", "none"]).describe(
  "Whom Google emails about this change: all guests, externalOnly, or none (the default).",
);

/** An etag from get_event or list_events. */
export const etag = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, {
  error: "must be an etag exactly as get_event returned it.",
});

/** Attendees by email: bounded, since a meeting of hundreds is not a secretary's job. */
export const attendees = z.array(z.email({ error: "must be an email address." }).max(254)).max(
  50,
).describe("Guests' email addresses (at most 50).");

/** The fields that place an event in time (create_event, update_event). */
export interface EventTimeInput {
  start?: string | undefined;
  end?: string | undefined;
  time_zone?: string | undefined;
  start_date?: string | undefined;
  end_date?: string | undefined;
}

/** The descriptions of the event-time fields, shared by create_event and update_event. */
export const EVENT_TIME_FIELDS = {
  start: dateTime.optional().describe(
    "Start: 2026-03-30T09:00:00+02:00, or local 2026-03-30T09:00 with time_zone.",
  ),
  end: dateTime.optional().describe("End, written like start; after start."),
  time_zone: timeZone.optional().describe(
    "IANA time zone (Europe/Paris) for local start/end; required for recurring timed events.",
  ),
  start_date: date.optional().describe("All-day event: the first day, 2026-03-30."),
  end_date: date.optional().describe(
    "All-day event: the day after the last day (exclusive, as in Google); default start_date + 1.",
  ),
};

/**
 * Google's start and end for `input`, or null when it gives no time at all (and `required` is
 * false). Throws InputProblem naming the field.
 */
export function resolveEventTimes(
  input: EventTimeInput,
  required: boolean,
): { start: GoogleEventTime; end: GoogleEventTime } | null {
  if (input.start_date !== undefined || input.end_date !== undefined) {
    if (input.start !== undefined || input.end !== undefined) {
      throw new InputProblem("start", "give start/end or start_date/end_date, not both.");
    }
    if (input.start_date === undefined) {
      throw new InputProblem("start_date", "is required with end_date.");
    }
    const first = plainDate(input.start_date)!;
    const after = input.end_date === undefined
      ? first.add({ days: 1 })
      : plainDate(input.end_date)!;
    const days = first.until(after, { largestUnit: "days" }).days;
    if (days <= 0) {
      throw new InputProblem("end_date", "must be after start_date.", "invalid_time_range");
    }
    if (days > MAX_RANGE_DAYS) {
      throw new InputProblem("end_date", "an event spans at most a year.", "invalid_time_range");
    }
    return { start: { date: first.toString() }, end: { date: after.toString() } };
  }
  if (input.start === undefined && input.end === undefined) {
    if (required) throw new InputProblem("start", "give start and end, or start_date.");
    return null;
  }
  if (input.start === undefined) throw new InputProblem("start", "is required with end.");
  if (input.end === undefined) throw new InputProblem("end", "is required with start.");
  const start = eventTime("start", input.start, input.time_zone);
  const end = eventTime("end", input.end, input.time_zone);
  checkRange("end", start.instant, end.instant);
  return { start: start.google, end: end.google };
}

/** One timed start or end: the instant and what Google is sent. */
function eventTime(field: string, value: string, zone: string | undefined) {
  if (dateTimeForm(value) === "local" && zone === undefined) {
    throw new InputProblem(field, "is a local time: give time_zone, or write an offset.");
  }
  const instant = toInstant(value, zone);
  if (!instant) throw new InputProblem(field, "is not a real date and time.");
  // A local time is sent with the offset it has in its zone, computed by Temporal: 09:00
  // Europe/Paris on 2026-03-30 is 09:00+02:00, i.e. 07:00Z.
  const dateTime = zone
    ? instant.toZonedDateTimeISO(zone).toString({ timeZoneName: "never", smallestUnit: "second" })
    : value.toUpperCase();
  const google: GoogleEventTime = zone ? { dateTime, timeZone: zone } : { dateTime };
  return { instant, google };
}

/** `end` after `start`, at most MAX_RANGE_DAYS apart. */
export function checkRange(field: string, start: Temporal.Instant, end: Temporal.Instant): void {
  const ms = end.epochMilliseconds - start.epochMilliseconds;
  if (ms <= 0) throw new InputProblem(field, "must be after the start.", "invalid_time_range");
  if (ms > MAX_RANGE_DAYS * DAY_MS) {
    throw new InputProblem(field, "the range may span at most a year.", "invalid_time_range");
  }
}

/** An instant from a listing bound (`time_min`, `time_max`); InputProblem when unreadable. */
export function boundInstant(field: string, value: string, zone: string | undefined) {
  if (dateTimeForm(value) === "local" && zone === undefined) {
    throw new InputProblem(field, "is a local time: give time_zone, or write an offset.");
  }
  const instant = toInstant(value, zone);
  if (!instant) throw new InputProblem(field, "is not a real date and time.");
  return instant;
}
