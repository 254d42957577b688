/**
 * create_event: safe to retry. The event id comes from the user, the calendar and request_id,
 * so the same request twice asks Google for the same id; Google's 409 on the second answers the
 * event already made, with already_existed: true. Never a second event.
 */

import { z } from "zod";
import { CALENDAR_WRITE_SCOPES } from "../../google_facts.ts";
import { eventIdFor } from "../event_id.ts";
import { EVENT_CONTENT_FIELDS, eventBody } from "../event_fields.ts";
import { compactEvent, type GoogleEvent } from "../google_event.ts";
import { eventsPath, readGoogle } from "../google_calls.ts";
import { calendarId, InputProblem, refineWith, resolveEventTimes, sendUpdates } from "../inputs.ts";
import { defineTool } from "../tool.ts";

const input = z.strictObject({
  request_id: z.string().min(8).max(128).regex(/^[A-Za-z0-9._:-]+$/, {
    error: "must be 8-128 letters, digits, . _ : or -.",
  }).describe(
    "Your id for this booking (e.g. the chat message id): the same request_id never books twice.",
  ),
  calendar_id: calendarId,
  ...EVENT_CONTENT_FIELDS,
  add_meet_link: z.boolean().optional().describe("Add a Google Meet link."),
  send_updates: sendUpdates.optional(),
}).superRefine(refineWith((v) => {
  resolveEventTimes(v, true);
  if (v.recurrence && v.start !== undefined && v.time_zone === undefined) {
    throw new InputProblem("time_zone", "is required for a recurring timed event.");
  }
}));

/** The create_event tool. */
export const createEvent = defineTool({
  name: "create_event",
  description: "Create an event. Give request_id (unique per booking: a retry with the same " +
    "request_id returns the first event with already_existed: true), summary, and start/end " +
    "(2026-03-30T09:00 with time_zone Europe/Paris, or with an offset) or start_date for an " +
    "all-day event. Optional: description, location, attendees, recurrence, reminders, " +
    "add_meet_link, send_updates.",
  input,
  scopes: CALENDAR_WRITE_SCOPES,
  async run(v, ctx) {
    const id = await eventIdFor(ctx.userId, v.calendar_id, v.request_id);
    const body: Record<string, unknown> = { id, ...eventBody(v, true) };
    const query = new URLSearchParams();
    if (v.add_meet_link) {
      body.conferenceData = {
        createRequest: { requestId: id, conferenceSolutionKey: { type: "hangoutsMeet" } },
      };
      query.set("conferenceDataVersion", "1");
    }
    if (v.send_updates) query.set("sendUpdates", v.send_updates);
    const suffix = query.size ? `?${query}` : "";
    const res = await ctx.google(`${eventsPath(v.calendar_id)}${suffix}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status === 409) {
      // "The requested identifier already exists": made by an earlier try of this request.
      await res.body?.cancel();
      const existing = await readGoogle<GoogleEvent>(
        await ctx.google(eventsPath(v.calendar_id, id)),
      );
      return { event: compactEvent(existing), already_existed: true };
    }
    return { event: compactEvent(await readGoogle<GoogleEvent>(res)), already_existed: false };
  },
});
