/**
 * Event times as the Calendar API takes and gives them: `dateTime` (RFC 3339, with an offset or
 * a `timeZone`), `date` (all-day, end exclusive), IANA zones, and rendering an instant in a zone.
 * https://developers.google.com/calendar/api/v3/reference/events#resource (start, end)
 *
 * @module
 */

import { tzOffset } from "@date-fns/tz";

/** `start`/`end` as the API carries them. */
export interface EventDateTime {
  dateTime?: string;
  date?: string;
  timeZone?: string;
}

/** An event time resolved to an instant (all-day: midnight in the calendar's zone). */
export interface ResolvedTime {
  ms: number;
  allDay: boolean;
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a time zone name the runtime knows (IANA, plus `UTC`). */
export function isTimeZone(zone: string): boolean {
  if (zone === "" || /^[+-]/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Minutes east of UTC in `zone` at `ms`. */
export function offsetMinutes(zone: string, ms: number): number {
  return tzOffset(zone, new Date(ms));
}

/** The UTC instant of a wall-clock time (fields as `Date.UTC` takes them) in `zone`. */
export function wallToUtc(wallMs: number, zone: string): number {
  const first = wallMs - offsetMinutes(zone, wallMs) * 60_000;
  const second = wallMs - offsetMinutes(zone, first) * 60_000;
  return second;
}

/** The wall-clock time in `zone` of an instant, as a `Date.UTC`-style number. */
export function utcToWall(ms: number, zone: string): number {
  return ms + offsetMinutes(zone, ms) * 60_000;
}

/** Parses a valid `YYYY-MM-DD` to the `Date.UTC` of its midnight, or undefined. */
export function parseDate(value: string): number | undefined {
  const m = DATE.exec(value);
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === value ? ms : undefined;
}

/**
 * The instant of an RFC 3339 date-time. Without an offset, `zone` gives it its meaning; without
 * either it is undefined, as Google refuses it ("A time zone offset is required unless a time
 * zone is explicitly specified in timeZone").
 */
export function parseDateTime(value: string, zone: string | undefined): number | undefined {
  const m = DATE_TIME.exec(value);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, offset] = m;
  const wall = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s ?? 0),
  );
  const check = new Date(wall);
  if (check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h)) return undefined;
  if (offset === undefined) return zone === undefined ? undefined : wallToUtc(wall, zone);
  if (offset.toUpperCase() === "Z") return wall;
  const sign = offset.startsWith("-") ? -1 : 1;
  const minutes = Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6));
  return wall - sign * minutes * 60_000;
}

/** RFC 3339 in `zone`, seconds precision, like Google (`Z` for a UTC calendar). */
export function formatInZone(ms: number, zone: string): string {
  if (zone === "UTC" || zone === "Etc/UTC") {
    return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
  }
  const offset = offsetMinutes(zone, ms);
  const wall = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${wall}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** `YYYY-MM-DD` of a `Date.UTC`-style wall time. */
export function formatDate(wallMs: number): string {
  return new Date(wallMs).toISOString().slice(0, 10);
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** RFC 3339 UTC with milliseconds, as Google writes `created` and `updated`. */
export function isoMillis(ms: number): string {
  return new Date(ms).toISOString();
}

/** `YYYYMMDDTHHMMSSZ` of an instant, the suffix of a timed instance id. */
export function basicUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
}

/** `YYYYMMDD` of a wall date, the suffix of an all-day instance id. */
export function basicDate(wallMs: number): string {
  return formatDate(wallMs).replaceAll("-", "");
}

/**
 * A query bound (events.list `timeMin`, `timeMax`, `updatedMin`; freebusy's range) as Google
 * takes it: "an RFC3339 timestamp with mandatory time zone offset, for example,
 * 2011-06-03T10:00:00-07:00, 2011-06-03T10:00:00Z. Milliseconds may be provided but are
 * ignored." NaN for anything else (a bare date, a time without offset).
 * https://developers.google.com/calendar/api/v3/reference/events/list#parameters
 */
export function parseRfc3339(value: string): number {
  const m = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(value);
  return m === null ? NaN : Date.parse(value.toUpperCase());
}
