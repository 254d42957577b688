/** update_event: patch semantics; with if_etag, a change made meanwhile is never overwritten. */

import { z } from "zod";
import { CALENDAR_WRITE_SCOPES } from "../../google_facts.ts";
import { EVENT_CONTENT_FIELDS, eventBody } from "../event_fields.ts";
import { compactEvent, type GoogleEvent } from "../google_event.ts";
import { eventsPath, readGoogle } from "../google_calls.ts";
import {
  calendarId,
  etag,
  eventId,
  InputProblem,
  refineWith,
  resolveEventTimes,
  sendUpdates,
} from "../inputs.ts";
import { defineTool } from "../tool.ts";

const input = z.strictObject({
  event_id: eventId.describe(
    "An occurrence's id changes that occurrence only; the series' id (recurring_event_id) " +
      "changes every occurrence.",
  ),
  calendar_id: calendarId,
  if_etag: etag.optional().describe(
    "The etag from get_event/list_events: if the event changed since, nothing is changed and " +
      "the answer is calendar_conflict.",
  ),
  ...EVENT_CONTENT_FIELDS,
  summary: EVENT_CONTENT_FIELDS.summary.optional(),
  send_updates: sendUpdates.optional(),
}).superRefine(refineWith((v) => {
  resolveEventTimes(v, false);
  const { event_id: _, calendar_id: __, if_etag: ___, send_updates: ____, ...changes } = v;
  if (Object.values(changes).every((x) => x === undefined)) {
    throw new InputProblem("summary", "give at least one field to change.");
  }
}));

/** The update_event tool. */
export const updateEvent = defineTool({
  name: "update_event",
  description: "Change an event: only the fields given change (to move it, give the new " +
    "start and end, or start_date). attendees, if given, replaces the guest list. Pass " +
    "if_etag from get_event so a change made meanwhile is not overwritten (calendar_conflict: " +
    "get the event again, then retry).",
  input,
  scopes: CALENDAR_WRITE_SCOPES,
  async run(v, ctx) {
    const query = new URLSearchParams();
    if (v.send_updates) query.set("sendUpdates", v.send_updates);
    const suffix = query.size ? `?${query}` : "";
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (v.if_etag) headers["if-match"] = v.if_etag;
    const event = await readGoogle<GoogleEvent>(
      await ctx.google(`${eventsPath(v.calendar_id, v.event_id)}${suffix}`, {
        method: "PATCH",
        headers,
        body: JSON.stringify(patchBody(v)),
      }),
    );
    return { event: compactEvent(event) };
  },
});

/**
 * The PATCH body. Patch merges `start`/`end` field by field, so a move between timed and all-day
 * must null the other form, or the event would hold both `date` and `dateTime`, which Google
 * refuses ("the PATCH request needs to clear the date field": Google on its API tracker,
 * issue 3110; https://developers.google.com/calendar/api/guides/performance#patch).
 */
function patchBody(v: Parameters<typeof eventBody>[0]): Record<string, unknown> {
  const body = eventBody(v, false);
  for (const key of ["start", "end"] as const) {
    const time = body[key] as Record<string, unknown> | undefined;
    if (time === undefined) continue;
    if ("date" in time) time.dateTime = null;
    else time.date = null;
  }
  return body;
}
