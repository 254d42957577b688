/** delete_event: safe to retry; an event already gone answers already_deleted: true. */

import { z } from "zod";
import { CALENDAR_WRITE_SCOPES } from "../../google_facts.ts";
import { eventsPath, refusalOf } from "../google_calls.ts";
import { calendarId, eventId, sendUpdates } from "../inputs.ts";
import { defineTool } from "../tool.ts";

const input = z.strictObject({
  event_id: eventId.describe(
    "An occurrence's id cancels that occurrence only; the series' id deletes the whole series.",
  ),
  calendar_id: calendarId,
  send_updates: sendUpdates.optional(),
});

/** The delete_event tool. */
export const deleteEvent = defineTool({
  name: "delete_event",
  description: "Delete an event, or one occurrence of a recurring event (its own id). Safe to " +
    "retry: an event already deleted answers already_deleted: true.",
  input,
  scopes: CALENDAR_WRITE_SCOPES,
  async run(v, ctx) {
    const query = new URLSearchParams();
    if (v.send_updates) query.set("sendUpdates", v.send_updates);
    const suffix = query.size ? `?${query}` : "";
    const res = await ctx.google(`${eventsPath(v.calendar_id, v.event_id)}${suffix}`, {
      method: "DELETE",
    });
    // Google answers 410 Gone for an event it already deleted (a retry, or another client).
    if (!res.ok && res.status !== 410) throw await refusalOf(res);
    await res.body?.cancel();
    return { event_id: v.event_id, deleted: true, already_deleted: res.status === 410 };
  },
});
