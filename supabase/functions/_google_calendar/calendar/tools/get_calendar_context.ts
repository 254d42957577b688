/** get_calendar_context: what a model needs before it can say "tomorrow". */

import { z } from "zod";
import { Temporal } from "temporal-polyfill";
import { EVENTS_READ_SCOPES, FREEBUSY_SCOPES, KNOWN_CALENDAR_SCOPES } from "../../google_facts.ts";
import { calendarTimeZone } from "../google_calls.ts";
import { inZone } from "../time.ts";
import { defineTool } from "../tool.ts";

const input = z.strictObject({});

/** The get_calendar_context tool. */
export const getCalendarContext = defineTool({
  name: "get_calendar_context",
  description: "The user's time zone, the current date and time there, today's weekday, and the " +
    "connected Google address. Call it first to turn 'tomorrow at 3' into a date and time.",
  input,
  scopes: EVENTS_READ_SCOPES,
  async run(_v, ctx) {
    const zone = await calendarTimeZone(ctx.google, "primary");
    const now = Temporal.Instant.fromEpochMilliseconds(ctx.now().getTime());
    const here = now.toZonedDateTimeISO(zone);
    const granted = Object.entries(KNOWN_CALENDAR_SCOPES)
      .filter(([, url]) => ctx.scopes.includes(url)).map(([name]) => name);
    return {
      time_zone: zone,
      now: inZone(now, zone),
      today: here.toPlainDate().toString(),
      weekday: here.toLocaleString("en-US", { weekday: "long" }),
      google_email: ctx.googleEmail,
      calendar_id: "primary",
      granted_scopes: granted,
      free_busy_available: FREEBUSY_SCOPES.some((s) => ctx.scopes.includes(s)),
    };
  },
});
