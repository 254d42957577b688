/**
 * The demo week of the local stack: a handful of events around "now" in the demo account's
 * calendar, so `npm start` shows a real calendar (timed and all-day events, a weekly series, a
 * Meet call, an invitation waiting for an answer). Written through the same code as
 * events.insert, so etags, sync tokens and push channels see them.
 *
 * @module
 */

import { formatDate, utcToWall } from "./calendar_time.ts";
import { insertEvent } from "./events.ts";
import type { EmulatorState } from "./state.ts";

/** The demo calendar's zone. */
export const DEMO_TIME_ZONE = "Europe/Paris";

const DAY_MS = 86_400_000;

/** Seeds the demo week into the account's primary calendar; returns how many events it wrote. */
export async function seedDemoCalendar(state: EmulatorState, email: string): Promise<number> {
  const account = await state.ensureAccount(email);
  const calendar = state.calendars.primary(account.email);
  calendar.timeZone = DEMO_TIME_ZONE;
  const zone = DEMO_TIME_ZONE;
  const wall = utcToWall(state.now(), zone);
  const today = wall - (wall % DAY_MS);
  const day = (offset: number) => formatDate(today + offset * DAY_MS);
  const at = (offset: number, time: string) => ({
    dateTime: `${day(offset)}T${time}:00`,
    timeZone: zone,
  });
  const monday = (() => {
    const weekday = new Date(today).getUTCDay(); // 0 = Sunday
    return ((8 - weekday) % 7) || 7;
  })();
  const events: Record<string, unknown>[] = [
    {
      summary: "Dentist",
      location: "12 Rue de la Paix, Paris",
      start: at(1, "09:00"),
      end: at(1, "10:00"),
      reminders: { useDefault: false, overrides: [{ method: "popup", minutes: 60 }] },
    },
    {
      summary: "Lunch with Sam",
      location: "Café des Amis",
      start: at(1, "12:30"),
      end: at(1, "13:30"),
    },
    {
      summary: "Call with Bob",
      description: "Quarterly planning",
      start: at(2, "15:00"),
      end: at(2, "15:30"),
      attendees: [{ email: account.email, responseStatus: "accepted" }, {
        email: "bob@example.org",
      }],
      conferenceData: {
        createRequest: { requestId: "demo-call", conferenceSolutionKey: { type: "hangoutsMeet" } },
      },
    },
    {
      summary: "Team standup",
      start: at(monday, "10:00"),
      end: at(monday, "10:15"),
      recurrence: ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
    },
    {
      summary: "Design conference",
      start: { date: day(3) },
      end: { date: day(5) },
      transparency: "transparent",
    },
    {
      summary: "Project review",
      start: at(4, "11:00"),
      end: at(4, "12:00"),
      organizer: { email: "alice@example.org", displayName: "Alice" },
      attendees: [
        { email: "alice@example.org", displayName: "Alice", responseStatus: "accepted" },
        { email: account.email },
      ],
    },
  ];
  let written = 0;
  for (const event of events) {
    const result = insertEvent(state, calendar, event, {
      conferenceDataVersion: 1,
      origin: "control",
    });
    if (result instanceof Response) {
      throw new Error(`demo event ${String(event.summary)} refused: ${result.status}`);
    }
    written += 1;
  }
  return written;
}
