/**
 * Recurring events: the `recurrence` lines (RRULE, RDATE, EXDATE as RFC 5545 has them), their
 * expansion into instances in the event's time zone (09:00 Europe/Paris stays 09:00 across a
 * DST change), and instance ids as Google forms them: `<eventId>_<YYYYMMDDTHHMMSSZ>` (the
 * original start in UTC), or `<eventId>_<YYYYMMDD>` for all-day series.
 * https://developers.google.com/calendar/api/concepts/events-calendars#recurring_events
 * https://developers.google.com/calendar/api/v3/reference/events/instances
 *
 * Rules are expanded with the `rrule` package on floating wall-clock times (a `Date` whose UTC
 * fields are the local fields), then each occurrence is placed in the zone.
 *
 * @module
 */

import rrule from "rrule";
import type { Options } from "rrule";
import { basicDate, basicUtc, parseDate, utcToWall, wallToUtc } from "./calendar_time.ts";

// rrule ships a UMD bundle as its CommonJS entry, so only its default export is visible here.
const { RRule } = rrule;

/** One RDATE/EXDATE value. */
interface DateSpec {
  /** Wall-clock `Date.UTC` value, or the UTC instant when `utc`. */
  ms: number;
  utc: boolean;
  allDay: boolean;
  tzid: string | undefined;
}

/** Parsed `recurrence` lines. */
export interface Recurrence {
  rules: Partial<Options>[];
  /** Whether each rule's UNTIL was given in UTC (`Z`), to be moved to wall time. */
  untilUtc: boolean[];
  rdates: DateSpec[];
  exdates: DateSpec[];
}

/** One occurrence of a series. */
export interface Occurrence {
  startMs: number;
  endMs: number;
  /** The instance id suffix. */
  stamp: string;
}

/** Most instances one expansion yields: Google also bounds open-ended series. */
export const MAX_INSTANCES = 5000;

/** Parses the lines, or undefined for anything Google would call an invalid rule. */
export function parseRecurrence(lines: readonly string[]): Recurrence | undefined {
  const out: Recurrence = { rules: [], untilUtc: [], rdates: [], exdates: [] };
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon < 0) return undefined;
    const [name, ...params] = line.slice(0, colon).toUpperCase().split(";");
    const value = line.slice(colon + 1);
    if (name === "RRULE") {
      try {
        const options = RRule.parseString(value);
        if (options.freq === undefined) return undefined;
        out.rules.push(options);
        out.untilUtc.push(/UNTIL=\d{8}T\d{6}Z/i.test(value));
      } catch {
        return undefined;
      }
    } else if (name === "RDATE" || name === "EXDATE") {
      const tzid = params.find((p) => p.startsWith("TZID="))?.slice(5);
      const originalTzid = tzid === undefined
        ? undefined
        : line.slice(0, colon).split(";").find((p) => p.toUpperCase().startsWith("TZID="))
          ?.slice(5);
      for (const item of value.split(",")) {
        const spec = parseDateSpec(item.trim(), originalTzid);
        if (spec === undefined) return undefined;
        (name === "RDATE" ? out.rdates : out.exdates).push(spec);
      }
    } else return undefined;
  }
  return out.rules.length === 0 && out.rdates.length === 0 ? undefined : out;
}

function parseDateSpec(value: string, tzid: string | undefined): DateSpec | undefined {
  const date = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  if (date !== null) {
    const ms = parseDate(`${date[1]}-${date[2]}-${date[3]}`);
    return ms === undefined ? undefined : { ms, utc: false, allDay: true, tzid };
  }
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$/i.exec(value);
  if (m === null) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return { ms, utc: m[7] !== "", allDay: false, tzid };
}

/** What expansion needs to know of a series. */
export interface SeriesTimes {
  startMs: number;
  endMs: number;
  allDay: boolean;
  /** The zone the rule runs in: start.timeZone, or the calendar's for all-day series. */
  zone: string;
  recurrence: readonly string[];
}

/** Occurrences whose start lies in [fromMs, toMs) (at most `limit`), in start order. */
export function expand(
  series: SeriesTimes,
  fromMs: number,
  toMs: number,
  limit = MAX_INSTANCES,
): Occurrence[] {
  const parsed = parseRecurrence(series.recurrence);
  if (parsed === undefined) return [];
  const { zone } = series;
  const startWall = utcToWall(series.startMs, zone);
  const wallDuration = utcToWall(series.endMs, zone) - startWall;
  // Pad the wall window by a day either side: offsets never exceed that.
  const fromWall = Math.max(startWall, fromMs - 86_400_000);
  // An unbounded window stops at the instance limit instead.
  const toWall = Number.isFinite(toMs) ? toMs + 86_400_000 : startWall + 200 * 366 * 86_400_000;
  if (!(fromWall <= toWall)) return [];
  const walls = new Set<number>();
  parsed.rules.forEach((options, index) => {
    const rule: Partial<Options> = { ...options, dtstart: new Date(startWall), tzid: null };
    if (options.until instanceof Date && parsed.untilUtc[index] === true) {
      rule.until = new Date(utcToWall(options.until.getTime(), zone));
    }
    const dates = new RRule(rule).between(
      new Date(fromWall),
      new Date(toWall),
      true,
      (_, count) => count < limit * 2,
    );
    for (const date of dates) walls.add(date.getTime());
  });
  // DTSTART is always the first instance (RFC 5545 §3.8.5.3).
  walls.add(startWall);
  for (const rdate of parsed.rdates) walls.add(specWall(rdate, zone, startWall));
  const excluded = new Set(parsed.exdates.map((spec) => specWall(spec, zone, startWall)));
  const out: Occurrence[] = [];
  for (const wall of [...walls].sort((a, b) => a - b)) {
    if (excluded.has(wall)) continue;
    const startMs = wallToUtc(wall, zone);
    if (startMs < fromMs || startMs >= toMs) continue;
    const endMs = wallToUtc(wall + wallDuration, zone);
    out.push({ startMs, endMs, stamp: series.allDay ? basicDate(wall) : basicUtc(startMs) });
    if (out.length >= limit) break;
  }
  return out;
}

/** A spec's wall time in the series' zone (a date on a timed series takes the series' time). */
function specWall(spec: DateSpec, zone: string, startWall: number): number {
  if (spec.allDay) return spec.ms + (startWall % 86_400_000);
  if (spec.utc) return utcToWall(spec.ms, zone);
  if (spec.tzid !== undefined && spec.tzid !== zone) {
    return utcToWall(wallToUtc(spec.ms, spec.tzid), zone);
  }
  return spec.ms;
}

/** The occurrence an instance id names, or undefined when it is no occurrence of the series. */
export function occurrenceOf(series: SeriesTimes, stamp: string): Occurrence | undefined {
  const at = stampMs(stamp, series.zone);
  if (at === undefined) return undefined;
  return expand(series, at, at + 1, 1).find((occurrence) => occurrence.stamp === stamp);
}

/** Splits `<series>_<stamp>`; undefined for an id of no instance form. */
export function splitInstanceId(id: string): { seriesId: string; stamp: string } | undefined {
  const m = /^(.+)_(\d{8}(?:T\d{6}Z)?)$/.exec(id);
  return m === null ? undefined : { seriesId: m[1] as string, stamp: m[2] as string };
}

/** The instant a stamp names (an all-day stamp: midnight in `zone`). */
export function stampMs(stamp: string, zone: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?$/.exec(stamp);
  if (m === null) return undefined;
  if (m[4] === undefined) {
    const wall = parseDate(`${m[1]}-${m[2]}-${m[3]}`);
    return wall === undefined ? undefined : wallToUtc(wall, zone);
  }
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}
