/**
 * The editable fields of an event, shared by create_event and update_event: their schemas (with
 * bounds) and the Google body they make. Only fields given are sent, so a patch changes nothing
 * else.
 */

import { z } from "zod";
import { attendees, EVENT_TIME_FIELDS, type EventTimeInput, resolveEventTimes } from "./inputs.ts";

/** RRULE, EXRULE, RDATE and EXDATE lines, as Google's `recurrence` takes them (RFC 5545). */
const RECURRENCE_LINE = /^(RRULE|EXRULE|RDATE|EXDATE)[:;][A-Za-z0-9=;,:+/._-]{1,480}$/;

/** The content fields' schemas. */
export const EVENT_CONTENT_FIELDS = {
  summary: z.string().trim().min(1).max(1024).describe("The title, e.g. Dentist."),
  description: z.string().max(8192).optional().describe("Notes (at most 8192 characters)."),
  location: z.string().max(1024).optional().describe("Where, as text or an address."),
  attendees: attendees.optional(),
  recurrence: z.array(
    z.string().regex(RECURRENCE_LINE, {
      error: "must be an RFC 5545 line such as RRULE:FREQ=WEEKLY;BYDAY=MO.",
    }),
  ).max(5).optional().describe('Repeat rules, e.g. ["RRULE:FREQ=WEEKLY;COUNT=10"].'),
  reminder_minutes: z.array(z.int().min(0).max(40320)).max(5).optional().describe(
    "Pop-up reminders, minutes before the start (instead of the calendar's defaults).",
  ),
  ...EVENT_TIME_FIELDS,
};

/** The values those fields take. */
export interface EventContent extends EventTimeInput {
  summary?: string | undefined;
  description?: string | undefined;
  location?: string | undefined;
  attendees?: string[] | undefined;
  recurrence?: string[] | undefined;
  reminder_minutes?: number[] | undefined;
}

/** The Google Event body for the fields given (times resolved; `required` for a create). */
export function eventBody(v: EventContent, required: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (v.summary !== undefined) body.summary = v.summary;
  if (v.description !== undefined) body.description = v.description;
  if (v.location !== undefined) body.location = v.location;
  if (v.attendees !== undefined) body.attendees = v.attendees.map((email) => ({ email }));
  if (v.recurrence !== undefined) body.recurrence = v.recurrence;
  if (v.reminder_minutes !== undefined) {
    body.reminders = {
      useDefault: false,
      overrides: v.reminder_minutes.map((minutes) => ({ method: "popup", minutes })),
    };
  }
  const times = resolveEventTimes(v, required);
  if (times) Object.assign(body, times);
  return body;
}
