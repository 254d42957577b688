/**
 * respond_to_event: accept, decline or answer "maybe" to an invitation, on the user's own
 * attendee entry only. The event is read, only that entry's responseStatus changes, and the
 * patch carries the etag read, so a change made meanwhile is not overwritten.
 */

import { z } from "zod";
import { CALENDAR_WRITE_SCOPES } from "../../google_facts.ts";
import { AppError } from "../../errors.ts";
import { compactEvent, type GoogleEvent } from "../google_event.ts";
import { eventsPath, readGoogle } from "../google_calls.ts";
import { calendarId, eventId, sendUpdates } from "../inputs.ts";
import { defineTool } from "../tool.ts";

const input = z.strictObject({
  event_id: eventId.describe("The invitation's event id (an occurrence's id answers just it)."),
  calendar_id: calendarId,
  response: z.enum(["accepted", "declined", "tentative"]).describe(
    "accepted, declined, or tentative (maybe).",
  ),
  send_updates: sendUpdates.optional(),
});

/** The respond_to_event tool. */
export const respondToEvent = defineTool({
  name: "respond_to_event",
  description: "Answer an invitation for the user: accepted, declined or tentative. Changes " +
    "only the user's own answer; the organizer sees it (send_updates to email them).",
  input,
  scopes: CALENDAR_WRITE_SCOPES,
  async run(v, ctx) {
    const path = eventsPath(v.calendar_id, v.event_id);
    const event = await readGoogle<GoogleEvent>(await ctx.google(path));
    const attendees = event.attendees ?? [];
    const email = ctx.googleEmail?.toLowerCase();
    const index = attendees.findIndex((a) =>
      a.self === true || (email !== undefined && a.email?.toLowerCase() === email)
    );
    if (index < 0) {
      throw new AppError(
        "not_an_attendee",
        "The user is not a guest of this event, so there is nothing to answer.",
      );
    }
    const updated = attendees.map((a, i) => i === index ? { ...a, responseStatus: v.response } : a);
    const query = new URLSearchParams();
    if (v.send_updates) query.set("sendUpdates", v.send_updates);
    const suffix = query.size ? `?${query}` : "";
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (event.etag) headers["if-match"] = event.etag;
    const patched = await readGoogle<GoogleEvent>(
      await ctx.google(`${path}${suffix}`, {
        method: "PATCH",
        headers,
        body: JSON.stringify({ attendees: updated }),
      }),
    );
    return { event: compactEvent(patched), response: v.response };
  },
});
