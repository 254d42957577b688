/** get_event: one event (or one occurrence) by id, with its etag. */

import { z } from "zod";
import { EVENTS_READ_SCOPES } from "../../google_facts.ts";
import { compactEvent, type GoogleEvent } from "../google_event.ts";
import { eventsPath, readGoogle } from "../google_calls.ts";
import { calendarId, eventId, timeZone } from "../inputs.ts";
import { defineTool } from "../tool.ts";

const input = z.strictObject({
  event_id: eventId.describe("The event's id (an occurrence's id reads that occurrence)."),
  calendar_id: calendarId,
  time_zone: timeZone.optional().describe("IANA zone for the times answered."),
});

/** The get_event tool. */
export const getEvent = defineTool({
  name: "get_event",
  description: "Get one event by event_id: its times, guests and their answers, and its etag " +
    "(pass it as if_etag to update_event so a change made meanwhile is not overwritten).",
  input,
  scopes: EVENTS_READ_SCOPES,
  async run(v, ctx) {
    const query = new URLSearchParams();
    if (v.time_zone) query.set("timeZone", v.time_zone);
    const suffix = query.size ? `?${query}` : "";
    const event = await readGoogle<GoogleEvent>(
      await ctx.google(`${eventsPath(v.calendar_id, v.event_id)}${suffix}`),
    );
    return { event: compactEvent(event, v.time_zone) };
  },
});
