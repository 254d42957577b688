/**
 * Test controls for calendars: seed events, write events "as another client would" (someone in
 * the Google Calendar UI, or an invitation from someone else), set a calendar's time zone,
 * invalidate sync tokens, read the update emails Google would have sent. Writes go through the
 * same code as the API, so they bump etags and change counters and notify push channels.
 *
 * @module
 */

import { parseSeedEvents } from "./calendar.ts";
import type { Calendar } from "./calendar_store.ts";
import { isTimeZone } from "./calendar_time.ts";
import { bad, type ControlBody, emailOf, type PostControl } from "./control_utils.ts";
import { seedDemoCalendar } from "./demo_calendar.ts";
import { applyEventInput } from "./event_input.ts";
import { renderEvent } from "./event_view.ts";
import { deleteEvent, insertEvent, writeEvent } from "./events.ts";
import { normaliseEmail } from "./http.ts";
import type { EmulatorState } from "./state.ts";

async function calendarOf(state: EmulatorState, body: ControlBody): Promise<Calendar> {
  const account = await state.ensureAccount(emailOf(body));
  return state.calendars.primary(account.email);
}

function objectOf(body: ControlBody, name: string): Record<string, unknown> {
  const value = body[name];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    bad(`${name} must be an object`);
  }
  return value as Record<string, unknown>;
}

function eventIdOf(body: ControlBody): string {
  if (typeof body.eventId !== "string" || body.eventId === "") bad("eventId is required");
  return body.eventId;
}

/** The stored event as JSON, or the API's refusal passed through (status and Google's body). */
function answer(calendar: Calendar, result: ReturnType<typeof insertEvent>): unknown {
  if (result instanceof Response) return result;
  return renderEvent(calendar, result, { zone: calendar.timeZone });
}

/** POST controls (the path after `/__emulator/`). */
export const CALENDAR_CONTROLS: Readonly<Record<string, PostControl>> = {
  /** Seeds events as they are (ids need not be base32hex): `{email, items: [SeedEvent]}`. */
  async events(state, body) {
    const parsed = parseSeedEvents(body.items);
    if (typeof parsed === "string") bad(parsed);
    const calendar = await calendarOf(state, body);
    for (const seed of parsed) {
      const { kind: _, id, status: __, ...fields } = seed;
      const event = state.calendars.blank(id, "control");
      const error = applyEventInput(calendar, event, fields, {
        mode: "insert",
        conferenceDataVersion: 0,
      });
      if (error !== undefined) bad(error.message);
      state.calendars.commit(calendar, event);
    }
    return { count: calendar.events.size };
  },

  /** events.insert as another client: `{email, event, conferenceDataVersion?}`. */
  async "calendar/events"(state, body) {
    const calendar = await calendarOf(state, body);
    const result = insertEvent(state, calendar, objectOf(body, "event"), {
      conferenceDataVersion: body.conferenceDataVersion === 1 ? 1 : 0,
      origin: "control",
    });
    return answer(calendar, result);
  },

  /** events.patch as another client: `{email, eventId, patch, ifMatch?}`. */
  async "calendar/events/patch"(state, body) {
    const calendar = await calendarOf(state, body);
    const result = writeEvent(state, calendar, eventIdOf(body), objectOf(body, "patch"), {
      mode: "patch",
      conferenceDataVersion: body.conferenceDataVersion === 1 ? 1 : 0,
      origin: "control",
      ifMatch: typeof body.ifMatch === "string" ? body.ifMatch : null,
    });
    return answer(calendar, result);
  },

  /** events.delete as another client: `{email, eventId}`. */
  async "calendar/events/delete"(state, body) {
    const calendar = await calendarOf(state, body);
    const result = deleteEvent(state, calendar, eventIdOf(body), {
      origin: "control",
      ifMatch: null,
    });
    return result instanceof Response ? result : { deleted: result.id };
  },

  /** Adds the demo week to the account's calendar (zone Europe/Paris): `{email}` → `{count}`. */
  async "calendar/demo"(state, body) {
    return { count: await seedDemoCalendar(state, emailOf(body)) };
  },

  /** The calendar's settings: `{email, timeZone?, summary?}`. */
  async "calendar/settings"(state, body) {
    const calendar = await calendarOf(state, body);
    if (body.timeZone !== undefined) {
      if (typeof body.timeZone !== "string" || !isTimeZone(body.timeZone)) {
        bad("timeZone must be an IANA time zone");
      }
      calendar.timeZone = body.timeZone;
    }
    if (body.summary !== undefined) {
      if (typeof body.summary !== "string") bad("summary must be a string");
      calendar.summary = body.summary;
    }
    return { id: calendar.id, timeZone: calendar.timeZone, summary: calendar.summary };
  },

  /** Channels reach their end now: `{id}` one channel, `{email}` every channel on that calendar. */
  "calendar/channels/expire"(state, body) {
    const now = state.now();
    let expired = 0;
    for (const channel of state.push.channels.values()) {
      const match = typeof body.id === "string"
        ? channel.id === body.id
        : channel.calendarId === emailOf(body);
      if (match && channel.expiration > now) {
        channel.expiration = now;
        expired += 1;
      }
    }
    return { expired };
  },

  /** Every sync token of the account's calendar now answers 410 fullSyncRequired. */
  async "calendar/sync-tokens/invalidate"(state, body) {
    const calendar = await calendarOf(state, body);
    calendar.syncEpoch += 1;
    return { id: calendar.id, syncEpoch: calendar.syncEpoch };
  },
};

/** GET/DELETE calendar controls; undefined when `route` is none of them. */
export function calendarControlRoute(
  state: EmulatorState,
  route: string,
  query: URLSearchParams,
): Response | undefined {
  const email = query.has("email") ? normaliseEmail(query.get("email") ?? "") : undefined;
  switch (route) {
    case "DELETE /__emulator/events":
      state.calendars.clear(email);
      return Response.json({});
    case "GET /__emulator/calendar/notices":
      return Response.json({
        notices: state.calendarNotices.filter((n) => email === undefined || n.calendarId === email),
      });
    case "GET /__emulator/calendar/channels": {
      const now = state.now();
      const channels = [...state.push.channels.values()]
        .filter((c) => email === undefined || c.calendarId === email)
        .map((c) => ({ ...c, expired: c.expiration <= now }));
      return Response.json({ channels });
    }
    case "GET /__emulator/calendar/events": {
      if (email === undefined) {
        return Response.json({ error: "email is required" }, { status: 400 });
      }
      const calendar = state.calendars.primary(email);
      const items = [...calendar.events.values()].map((event) =>
        renderEvent(calendar, event, { zone: calendar.timeZone })
      );
      return Response.json({ timeZone: calendar.timeZone, items });
    }
  }
  return undefined;
}
