/**
 * Times as a model says them, made exact with Temporal (never hand-rolled DST math): RFC 3339
 * with an offset, a local date-time plus an IANA time zone, or a plain date for all-day events.
 */

import { Temporal } from "temporal-polyfill";

/** `2026-03-30T09:00:00+02:00`, `2026-03-30T07:00Z`: an instant. */
const OFFSET_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
/** `2026-03-30T09:00`: a wall-clock time, meaningful only with a time zone. */
const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/;
const PLAIN_DATE = /^\d{4}-\d{2}-\d{2}$/;
/** IANA names (`Europe/Paris`, `America/Argentina/Buenos_Aires`, `UTC`); not bare offsets. */
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]{0,30}(\/[A-Za-z0-9_+-]{1,30}){0,2}$/;

/** How a date-time input is written. */
export type DateTimeForm = "offset" | "local" | "invalid";

/** Which form `value` is in; "invalid" for anything else (the caller names the field). */
export function dateTimeForm(value: string): DateTimeForm {
  if (OFFSET_DATE_TIME.test(value)) return "offset";
  if (LOCAL_DATE_TIME.test(value)) return "local";
  return "invalid";
}

/** True for an IANA time zone the runtime knows (e.g. Europe/Paris), false for anything else. */
export function isTimeZone(name: string): boolean {
  if (!IANA_NAME.test(name)) return false;
  try {
    Temporal.Now.zonedDateTimeISO(name);
    return true;
  } catch {
    return false;
  }
}

/** A calendar date `YYYY-MM-DD` that exists, or null. */
export function plainDate(value: string): Temporal.PlainDate | null {
  if (!PLAIN_DATE.test(value)) return null;
  try {
    return Temporal.PlainDate.from(value, { overflow: "reject" });
  } catch {
    return null;
  }
}

/**
 * The instant `value` names: an offset date-time as written, a local one in `timeZone` (a time
 * skipped by a DST change moves forward, as Google does). Null when it cannot be read.
 */
export function toInstant(value: string, timeZone?: string): Temporal.Instant | null {
  try {
    const form = dateTimeForm(value);
    if (form === "offset") {
      // The wall-clock part is checked on its own so an impossible date is refused outright.
      Temporal.PlainDateTime.from(value.replace(/(Z|[+-]\d{2}:\d{2})$/i, ""), {
        overflow: "reject",
      });
      return Temporal.Instant.from(value.toUpperCase());
    }
    if (form === "local" && timeZone) {
      return Temporal.PlainDateTime.from(value, { overflow: "reject" })
        .toZonedDateTime(timeZone, { disambiguation: "compatible" }).toInstant();
    }
  } catch {
    // Unreadable: null below.
  }
  return null;
}

/** `instant` as RFC 3339 with the offset it has in `timeZone`, to the second. */
export function inZone(instant: Temporal.Instant, timeZone: string): string {
  return instant.toZonedDateTimeISO(timeZone).toString({
    timeZoneName: "never",
    smallestUnit: "second",
  });
}

/** Milliseconds since the epoch of an RFC 3339 string Google sent, or NaN. */
export function epochMs(value: string | undefined): number {
  return value === undefined ? NaN : Date.parse(value);
}
