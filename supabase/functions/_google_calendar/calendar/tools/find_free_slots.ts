/**
 * find_free_slots: free time of at least a duration, within working hours on working days, in
 * the user's time zone. Busy times come from freebusy.query when the grant allows it (Google
 * refuses freebusy with calendar.events alone), else from the events themselves.
 * https://developers.google.com/workspace/calendar/api/v3/reference/freebusy/query
 */

import { z } from "zod";
import { Temporal } from "temporal-polyfill";
import { EVENTS_READ_SCOPES, FREEBUSY_SCOPES } from "../../google_facts.ts";
import { AppError } from "../../errors.ts";
import { freeSlots, type Interval } from "../free_slots.ts";
import type { GoogleEvent, GoogleEventTime } from "../google_event.ts";
import {
  calendarTimeZone,
  type EventsPage,
  eventsPath,
  FREEBUSY_PATH,
  readGoogle,
} from "../google_calls.ts";
import { calendarId, date, InputProblem, refineWith, timeZone } from "../inputs.ts";
import { inZone, plainDate } from "../time.ts";
import { defineTool, type ToolContext } from "../tool.ts";

const MAX_DAYS = 31;
/** Pages of events read at most when working from the events (250 each). */
const MAX_PAGES = 4;
const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;

const input = z.strictObject({
  duration_minutes: z.int().min(5).max(720).describe("How long the free time must be."),
  first_day: date.describe("First day to search, 2026-03-30 (in the user's time zone)."),
  last_day: date.describe("Last day to search, inclusive; at most 31 days after first_day."),
  working_hours_start: z.string().regex(CLOCK, { error: "must be like 09:00." }).default("09:00")
    .describe("Start of the working day, HH:MM (default 09:00)."),
  working_hours_end: z.string().regex(CLOCK, { error: "must be like 18:00." }).default("18:00")
    .describe("End of the working day, HH:MM (default 18:00)."),
  working_days: z.array(z.int().min(1).max(7)).min(1).max(7).default([1, 2, 3, 4, 5]).describe(
    "ISO weekdays to search, Monday 1 to Sunday 7 (default Monday to Friday).",
  ),
  time_zone: timeZone.optional().describe("IANA zone of the hours (default: the calendar's)."),
  calendar_id: calendarId,
  max_slots: z.int().min(1).max(50).default(10).describe("At most this many slots."),
}).superRefine(refineWith((v) => {
  const first = plainDate(v.first_day)!;
  const last = plainDate(v.last_day)!;
  const days = first.until(last, { largestUnit: "days" }).days;
  if (days < 0) {
    throw new InputProblem("last_day", "must not be before first_day.", "invalid_time_range");
  }
  if (days >= MAX_DAYS) {
    throw new InputProblem(
      "last_day",
      `search at most ${MAX_DAYS} days at once.`,
      "invalid_time_range",
    );
  }
  if (v.working_hours_end <= v.working_hours_start) {
    throw new InputProblem(
      "working_hours_end",
      "must be after working_hours_start.",
      "invalid_time_range",
    );
  }
}));

/** The find_free_slots tool. */
export const findFreeSlots = defineTool({
  name: "find_free_slots",
  description: "Find free time of at least duration_minutes between first_day and last_day, " +
    "within working hours (default 09:00-18:00, Monday-Friday) in the user's time zone, never " +
    "in the past. Each slot is a whole free stretch; propose a start inside it.",
  input,
  scopes: EVENTS_READ_SCOPES,
  async run(v, ctx) {
    const zone = v.time_zone ?? await calendarTimeZone(ctx.google, v.calendar_id);
    const first = plainDate(v.first_day)!;
    const last = plainDate(v.last_day)!;
    const timeMin = first.toZonedDateTime({ timeZone: zone }).toInstant();
    const timeMax = last.add({ days: 1 }).toZonedDateTime({ timeZone: zone }).toInstant();
    const useFreeBusy = FREEBUSY_SCOPES.some((s) => ctx.scopes.includes(s));
    const busy = useFreeBusy
      ? await busyFromFreeBusy(ctx, v.calendar_id, timeMin, timeMax)
      : await busyFromEvents(ctx, v.calendar_id, timeMin, timeMax, zone);
    const slots = freeSlots({
      firstDay: first,
      lastDay: last,
      workStart: Temporal.PlainTime.from(v.working_hours_start),
      workEnd: Temporal.PlainTime.from(v.working_hours_end),
      workingDays: v.working_days,
      timeZone: zone,
      durationMs: v.duration_minutes * 60_000,
      notBefore: ctx.now().getTime(),
      maxSlots: v.max_slots,
    }, busy);
    const show = (ms: number) => inZone(Temporal.Instant.fromEpochMilliseconds(ms), zone);
    return {
      time_zone: zone,
      source: useFreeBusy ? "freebusy" : "events",
      slots: slots.map((s) => ({
        start: show(s.start),
        end: show(s.end),
        minutes: Math.round((s.end - s.start) / 60_000),
      })),
    };
  },
});

async function busyFromFreeBusy(
  ctx: ToolContext,
  calendarId: string,
  timeMin: Temporal.Instant,
  timeMax: Temporal.Instant,
): Promise<Interval[]> {
  const answer = await readGoogle<{
    calendars?: Record<string, { busy?: { start: string; end: string }[]; errors?: unknown[] }>;
  }>(
    await ctx.google(FREEBUSY_PATH, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        timeMin: timeMin.toString(),
        timeMax: timeMax.toString(),
        items: [{ id: calendarId }],
      }),
    }),
    "calendar",
  );
  const entry = answer.calendars?.[calendarId] ?? Object.values(answer.calendars ?? {})[0];
  if (!entry || entry.errors?.length) {
    throw new AppError("event_not_found", "No such calendar, or no access to its free/busy.");
  }
  return (entry.busy ?? []).map((b) => ({ start: Date.parse(b.start), end: Date.parse(b.end) }));
}

async function busyFromEvents(
  ctx: ToolContext,
  calendarId: string,
  timeMin: Temporal.Instant,
  timeMax: Temporal.Instant,
  zone: string,
): Promise<Interval[]> {
  const busy: Interval[] = [];
  const self = ctx.googleEmail?.toLowerCase();
  let pageToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = new URLSearchParams({
      timeMin: timeMin.toString(),
      timeMax: timeMax.toString(),
      singleEvents: "true",
      maxResults: "250",
    });
    if (pageToken) query.set("pageToken", pageToken);
    const answer = await readGoogle<EventsPage<GoogleEvent>>(
      await ctx.google(`${eventsPath(calendarId)}?${query}`),
      "calendar",
    );
    for (const e of answer.items ?? []) {
      // What Google's free/busy counts as busy: not cancelled, not "show as available", not
      // declined by the user.
      if (e.status === "cancelled" || e.transparency === "transparent") continue;
      const mine = e.attendees?.find((a) => a.self || a.email?.toLowerCase() === self);
      if (mine?.responseStatus === "declined") continue;
      const start = instantOf(e.start, zone);
      const end = instantOf(e.end, zone);
      if (!Number.isNaN(start) && !Number.isNaN(end)) busy.push({ start, end });
    }
    pageToken = answer.nextPageToken;
    if (!pageToken) break;
  }
  return busy;
}

/** An event time in epoch ms; an all-day date starts at midnight in `zone`. */
function instantOf(t: GoogleEventTime | undefined, zone: string): number {
  if (t?.dateTime) return Date.parse(t.dateTime);
  const day = t?.date ? plainDate(t.date) : null;
  return day ? day.toZonedDateTime({ timeZone: zone }).epochMilliseconds : NaN;
}
