/** list_events: what is on the calendar in a time range, recurring events expanded. */

import { z } from "zod";
import { EVENTS_READ_SCOPES } from "../../google_facts.ts";
import { compactEvent, type GoogleEvent } from "../google_event.ts";
import { type EventsPage, eventsPath, readGoogle, SECRETARY_EVENT_TYPES } from "../google_calls.ts";
import { boundInstant, calendarId, checkRange, dateTime, refineWith, timeZone } from "../inputs.ts";
import { defineTool } from "../tool.ts";

const input = z.strictObject({
  time_min: dateTime.optional().describe("Start of the range (default: now)."),
  time_max: dateTime.optional().describe("End of the range; at most a year after time_min."),
  time_zone: timeZone.optional().describe(
    "IANA zone for local time_min/time_max and for the times answered (default: the calendar's).",
  ),
  query: z.string().max(200).optional().describe("Free text to match (summary, description...)."),
  calendar_id: calendarId,
  max_results: z.int().min(1).max(250).default(25).describe("At most this many events (1-250)."),
  page_token: z.string().max(2048).regex(/^[\x21-\x7e]+$/).optional().describe(
    "next_page_token from the previous answer, with the same other fields.",
  ),
}).superRefine(refineWith((v) => {
  const min = v.time_min === undefined
    ? undefined
    : boundInstant("time_min", v.time_min, v.time_zone);
  const max = v.time_max === undefined
    ? undefined
    : boundInstant("time_max", v.time_max, v.time_zone);
  if (min && max) checkRange("time_max", min, max);
}));

/** The list_events tool. */
export const listEvents = defineTool({
  name: "list_events",
  description: "List the user's events between time_min and time_max, soonest first. " +
    "Recurring events come as their single occurrences (each with recurring_event_id); all-day " +
    "events have all_day: true and dates. Times are in the calendar's time zone unless " +
    "time_zone is given. Use next_page_token to read on.",
  input,
  scopes: EVENTS_READ_SCOPES,
  async run(v, ctx) {
    const continued = v.page_token === undefined ? undefined : readPageToken(v.page_token);
    const min = v.time_min !== undefined
      ? boundInstant("time_min", v.time_min, v.time_zone).toString()
      : continued?.timeMin ?? ctx.now().toISOString();
    const query = new URLSearchParams({
      timeMin: min,
      singleEvents: "true",
      orderBy: "startTime",
      maxResults: String(v.max_results),
    });
    if (v.time_max !== undefined) {
      query.set("timeMax", boundInstant("time_max", v.time_max, v.time_zone).toString());
    }
    if (v.time_zone) query.set("timeZone", v.time_zone);
    if (v.query) query.set("q", v.query);
    if (continued) query.set("pageToken", continued.googleToken);
    for (const type of SECRETARY_EVENT_TYPES) query.append("eventTypes", type);
    const page = await readGoogle<EventsPage<GoogleEvent>>(
      await ctx.google(`${eventsPath(v.calendar_id)}?${query}`),
      "calendar",
    );
    const zone = v.time_zone ?? page.timeZone;
    return {
      ...(zone ? { time_zone: zone } : {}),
      events: (page.items ?? []).map((e) => compactEvent(e, zone)),
      ...(page.nextPageToken ? { next_page_token: pageTokenFor(min, page.nextPageToken) } : {}),
    };
  },
});

/**
 * Google's page token continues the query it came from, so the next page must send the same
 * timeMin; when the model leaves time_min out it means "now", which has moved by then. The token
 * handed to the model therefore carries the timeMin sent, verbatim: `t<timeMin>~<Google's token>`.
 * https://developers.google.com/workspace/calendar/api/v3/reference/events/list (pageToken)
 */
function pageTokenFor(timeMin: string, googleToken: string): string {
  return `t${timeMin}~${googleToken}`;
}

/** The timeMin and Google's token of a page token; a bare token passes through as it is. */
function readPageToken(token: string): { timeMin?: string; googleToken: string } {
  const m = /^t([0-9TZ:.+-]{10,40})~(.+)$/.exec(token);
  if (m === null || Number.isNaN(Date.parse(m[1]!))) return { googleToken: token };
  return { timeMin: m[1]!, googleToken: m[2]! };
}
