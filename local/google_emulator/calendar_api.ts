/**
 * The Calendar API v3 under `/calendar/v3/`: one table of routes (method, path pattern, the
 * scopes that unlock it, the handler), Bearer authentication as Google does it, and the
 * calendar and calendarList reads. Adding a method is adding one row.
 * https://developers.google.com/calendar/api/v3/reference
 *
 * @module
 */

import { calendarErrorResponse } from "./calendar_errors.ts";
import type { Calendar } from "./calendar_store.ts";
import { isTimeZone } from "./calendar_time.ts";
import { EVENT_ROUTES } from "./events.ts";
import { FREEBUSY_ROUTES } from "./freebusy.ts";
import { WATCH_ROUTES } from "./watch.ts";
import {
  allowsAny,
  CALENDAR_LIST_SCOPES,
  CALENDARS_GET_SCOPES,
  SETTINGS_SCOPES,
} from "./scopes.ts";
import type { AccessRecord, EmulatorState } from "./state.ts";
import type { CalendarRoute } from "./calendar_route.ts";

/** Path prefix of every Calendar API route. */
export const CALENDAR_PREFIX = "/calendar/v3";

const CALENDAR_READS: CalendarRoute[] = [
  {
    method: "GET",
    path: "/calendars/{calendarId}",
    name: "calendar.v3.Calendars.Get",
    scopes: CALENDARS_GET_SCOPES,
    handle: ({ calendar }) => withCalendar(calendar, (c) => Response.json(calendarResource(c))),
  },
  {
    method: "GET",
    path: "/users/me/calendarList",
    name: "calendar.v3.CalendarList.List",
    scopes: CALENDAR_LIST_SCOPES,
    handle: ({ state, record }) => {
      const calendar = state.calendars.primary(record.email);
      return Response.json({
        kind: "calendar#calendarList",
        etag: `"${calendar.changeSeq}"`,
        nextSyncToken: "emulator",
        items: [calendarListEntry(calendar)],
      });
    },
  },
  {
    method: "GET",
    path: "/users/me/calendarList/{calendarId}",
    name: "calendar.v3.CalendarList.Get",
    scopes: CALENDAR_LIST_SCOPES,
    handle: ({ calendar }) => withCalendar(calendar, (c) => Response.json(calendarListEntry(c))),
  },
];

/**
 * The user settings the emulator knows (settings#resource): the time zone is the primary
 * calendar's. https://developers.google.com/calendar/api/v3/reference/settings
 */
function settingsOf(calendar: Calendar): Record<string, string> {
  return { timezone: calendar.timeZone, locale: "en", weekStart: "1", format24HourTime: "true" };
}

function settingResource(id: string, value: string): Record<string, unknown> {
  return { kind: "calendar#setting", etag: `"${id}"`, id, value };
}

const SETTINGS_READS: CalendarRoute[] = [
  {
    method: "GET",
    path: "/users/me/settings",
    name: "calendar.v3.Settings.List",
    scopes: SETTINGS_SCOPES,
    handle: ({ state, record }) =>
      Response.json({
        kind: "calendar#settings",
        etag: '"settings"',
        items: Object.entries(settingsOf(state.calendars.primary(record.email))).map((
          [id, value],
        ) => settingResource(id, value)),
      }),
  },
  {
    method: "GET",
    path: "/users/me/settings/{setting}",
    name: "calendar.v3.Settings.Get",
    scopes: SETTINGS_SCOPES,
    handle: ({ state, record, params }) => {
      const settings = settingsOf(state.calendars.primary(record.email));
      const id = params.setting ?? "";
      return Object.hasOwn(settings, id)
        ? Response.json(settingResource(id, settings[id] as string))
        : calendarErrorResponse("notFound");
    },
  },
];

const ROUTES: readonly CalendarRoute[] = [
  ...CALENDAR_READS,
  ...SETTINGS_READS,
  ...EVENT_ROUTES,
  ...FREEBUSY_ROUTES,
  ...WATCH_ROUTES,
];

const COMPILED = ROUTES.map((route) => ({
  route,
  names: [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string),
  pattern: new RegExp(`^${route.path.replace(/\{\w+\}/g, "([^/]+)")}$`),
}));

/** Google's name of the method a request calls (`calendar.v3.Events.Insert`), if any. */
export function calendarMethodName(method: string, path: string): string | undefined {
  const rest = path.slice(CALENDAR_PREFIX.length);
  return COMPILED.find(({ route, pattern }) => route.method === method && pattern.test(rest))
    ?.route.name;
}

/** Answers a request whose path starts with `/calendar/v3/`. */
export async function calendarApi(
  state: EmulatorState,
  req: Request,
  path: string,
  query: URLSearchParams,
): Promise<Response> {
  const rest = path.slice(CALENDAR_PREFIX.length);
  const matches = COMPILED.filter(({ pattern }) => pattern.test(rest));
  if (matches.length === 0) return calendarErrorResponse("notFound");
  const match = matches.find(({ route }) => route.method === req.method);
  if (match === undefined) {
    return new Response(null, {
      status: 405,
      headers: { allow: matches.map(({ route }) => route.method).join(", ") },
    });
  }
  const { route } = match;
  const values = (match.pattern.exec(rest) ?? []).slice(1);
  const params: Record<string, string> = {};
  match.names.forEach((name, i) => params[name] = decodeURIComponent(values[i] ?? ""));
  const response = await (async () => {
    const record = authenticate(state, req, query);
    if (record instanceof Response) return record;
    if (!allowsAny(record.scopes, route.scopes)) {
      return calendarErrorResponse("insufficientPermissions", {
        method: route.name,
        neededScope: route.scopes[0] as string,
      });
    }
    const zone = query.get("timeZone");
    if (zone !== null && !isTimeZone(zone)) {
      return calendarErrorResponse("badRequest", {
        reason: "invalid",
        message: "Invalid time zone definition.",
      });
    }
    const calendar = params.calendarId === undefined
      ? undefined
      : state.calendars.resolve(record.email, params.calendarId);
    return await route.handle({ state, req, query, record, params, calendar });
  })();
  const counts = state.stats.calendarCalls[route.name] ??= { ok: 0, error: 0 };
  counts[response.ok || response.status === 304 ? "ok" : "error"] += 1;
  if (route.name === "calendar.v3.Events.List") {
    state.stats.eventsCalls[response.ok ? "ok" : "error"] += 1;
  }
  return response;
}

/** Bearer header only, like Google: the access token's record, or the 401 to send. */
function authenticate(
  state: EmulatorState,
  req: Request,
  query: URLSearchParams,
): AccessRecord | Response {
  // Google stopped accepting access tokens in the query string.
  if (query.has("access_token")) return calendarErrorResponse("required");
  const match = /^bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
  if (match === null) return calendarErrorResponse("required");
  const record = state.accessTokens.get(match[1] as string);
  if (!state.accessTokenWorks(record)) return calendarErrorResponse("authError");
  return record;
}

/** 404 notFound for a calendar the account cannot see. */
export function withCalendar(
  calendar: Calendar | undefined,
  answer: (calendar: Calendar) => Response | Promise<Response>,
): Response | Promise<Response> {
  return calendar === undefined ? calendarErrorResponse("notFound") : answer(calendar);
}

/** https://developers.google.com/calendar/api/v3/reference/calendars#resource */
function calendarResource(calendar: Calendar): Record<string, unknown> {
  return {
    kind: "calendar#calendar",
    etag: `"${calendar.changeSeq}"`,
    id: calendar.id,
    summary: calendar.summary,
    timeZone: calendar.timeZone,
    conferenceProperties: { allowedConferenceSolutionTypes: ["hangoutsMeet"] },
  };
}

/** https://developers.google.com/calendar/api/v3/reference/calendarList#resource */
function calendarListEntry(calendar: Calendar): Record<string, unknown> {
  return {
    kind: "calendar#calendarListEntry",
    etag: `"${calendar.changeSeq}"`,
    id: calendar.id,
    summary: calendar.summary,
    timeZone: calendar.timeZone,
    colorId: "14",
    backgroundColor: "#9fe1e7",
    foregroundColor: "#000000",
    selected: true,
    accessRole: "owner",
    defaultReminders: [{ method: "popup", minutes: 10 }],
    notificationSettings: {
      notifications: [
        { type: "eventCreation", method: "email" },
        { type: "eventChange", method: "email" },
        { type: "eventCancellation", method: "email" },
        { type: "eventResponse", method: "email" },
      ],
    },
    primary: true,
    conferenceProperties: { allowedConferenceSolutionTypes: ["hangoutsMeet"] },
  };
}
