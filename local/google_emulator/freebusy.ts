/**
 * freebusy.query: busy periods of the caller's own calendar, from its opaque, non-cancelled
 * events (recurring series expanded, declined invitations left out), merged and clipped to the
 * range, in the requested zone (UTC by default). Other calendars answer `notFound` in their
 * entry, as for a calendar the caller cannot see.
 * https://developers.google.com/calendar/api/v3/reference/freebusy/query
 *
 * The scope rule matters: `calendar.events` alone is refused (403 insufficientPermissions); it
 * needs calendar, calendar.readonly, calendar.freebusy or calendar.events.freebusy.
 *
 * @module
 */

import { calendarErrorResponse } from "./calendar_errors.ts";
import type { CalendarContext, CalendarRoute } from "./calendar_route.ts";
import type { Calendar, StoredEvent } from "./calendar_store.ts";
import { formatInZone, isTimeZone, parseRfc3339 } from "./calendar_time.ts";
import { isSeries, seriesTimes } from "./event_view.ts";
import { expand } from "./recurrence.ts";
import { FREEBUSY_SCOPES } from "./scopes.ts";

/** Documented maximum of `calendarExpansionMax`. */
export const MAX_CALENDAR_EXPANSION = 50;

const bad = (message: string, reason = "invalid") =>
  calendarErrorResponse("badRequest", { reason, message });

/** Busy intervals [start, end) of a calendar within [from, to), merged, in start order. */
export function busyIntervals(calendar: Calendar, from: number, to: number): [number, number][] {
  const spans: [number, number][] = [];
  const blocks = (event: StoredEvent) =>
    event.status !== "cancelled" && event.fields.transparency !== "transparent" &&
    !declinedBySelf(event);
  for (const event of calendar.events.values()) {
    if (!blocks(event)) continue;
    if (isSeries(event)) {
      const times = seriesTimes(calendar, event);
      const duration = event.endMs - event.startMs;
      for (const occurrence of expand(times, from - duration, to)) {
        // An exception (moved or cancelled occurrence) stands on its own.
        if (calendar.events.has(`${event.id}_${occurrence.stamp}`)) continue;
        spans.push([occurrence.startMs, occurrence.endMs]);
      }
    } else spans.push([event.startMs, event.endMs]);
  }
  const clipped = spans
    .filter(([start, end]) => end > from && start < to && end > start)
    .map(([start, end]): [number, number] => [Math.max(start, from), Math.min(end, to)])
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const span of clipped) {
    const last = merged.at(-1);
    if (last !== undefined && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
    else merged.push(span);
  }
  return merged;
}

function declinedBySelf(event: StoredEvent): boolean {
  const attendees = (event.fields.attendees ?? []) as { self?: boolean; responseStatus?: string }[];
  return attendees.some((a) => a.self === true && a.responseStatus === "declined");
}

async function query(ctx: CalendarContext): Promise<Response> {
  const body = await ctx.req.json().catch(() => undefined) as Record<string, unknown> | undefined;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return bad("Parse Error", "parseError");
  }
  if (body.timeMin === undefined) return bad("Missing timeMin.", "required");
  if (body.timeMax === undefined) return bad("Missing timeMax.", "required");
  const from = typeof body.timeMin === "string" ? parseRfc3339(body.timeMin) : NaN;
  const to = typeof body.timeMax === "string" ? parseRfc3339(body.timeMax) : NaN;
  if (Number.isNaN(from)) return bad("Invalid value for timeMin.");
  if (Number.isNaN(to)) return bad("Invalid value for timeMax.");
  // Equal bounds are empty too (add-ons-samples#34, cited in calendar_errors.ts).
  if (to <= from) return calendarErrorResponse("timeRangeEmpty");
  const zone = body.timeZone ?? "UTC";
  if (typeof zone !== "string" || !isTimeZone(zone)) return bad("Invalid time zone.");
  const expansion = body.calendarExpansionMax ?? MAX_CALENDAR_EXPANSION;
  if (
    !Number.isInteger(expansion) || (expansion as number) < 1 ||
    (expansion as number) > MAX_CALENDAR_EXPANSION
  ) return bad("Invalid value for calendarExpansionMax.");
  const items = body.items ?? [];
  if (!Array.isArray(items)) return bad("Invalid value for items.");
  const calendars: Record<string, unknown> = {};
  items.forEach((item, index) => {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id !== "string") return;
    if (index >= (expansion as number)) {
      calendars[id] = { errors: [{ domain: "global", reason: "tooManyCalendarsRequested" }] };
      return;
    }
    const calendar = ctx.state.calendars.resolve(ctx.record.email, id);
    if (calendar === undefined) {
      calendars[id] = { errors: [{ domain: "global", reason: "notFound" }], busy: [] };
      return;
    }
    calendars[id] = {
      busy: busyIntervals(calendar, from, to).map(([start, end]) => ({
        start: formatInZone(start, zone),
        end: formatInZone(end, zone),
      })),
    };
  });
  return Response.json({
    kind: "calendar#freeBusy",
    timeMin: new Date(from).toISOString().replace(".000Z", "Z"),
    timeMax: new Date(to).toISOString().replace(".000Z", "Z"),
    calendars,
  });
}

/** The freebusy route for the Calendar router. */
export const FREEBUSY_ROUTES: CalendarRoute[] = [{
  method: "POST",
  path: "/freeBusy",
  name: "calendar.v3.Freebusy.Query",
  scopes: FREEBUSY_SCOPES,
  handle: query,
}];
