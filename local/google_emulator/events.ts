/**
 * The Events collection of the Calendar API: list, get, insert, patch, update, delete and
 * instances, with Google's rules for client ids (base32hex, 5–1024 characters, 409 duplicate,
 * deleted ids included), etags (`If-Match` → 412, `If-None-Match` → 304), deletion (204, then
 * 410) and recurring instances (changing or deleting one makes an exception).
 * https://developers.google.com/calendar/api/v3/reference/events
 *
 * @module
 */

import type { CalendarContext, CalendarRoute } from "./calendar_route.ts";
import { calendarErrorResponse } from "./calendar_errors.ts";
import { type Calendar, isValidEventId, newEventId, type StoredEvent } from "./calendar_store.ts";
import { applyEventInput, type InputError } from "./event_input.ts";
import { isSeries, renderEvent, seriesTimes, virtualInstance } from "./event_view.ts";
import { listEvents, seriesOfInstance } from "./events_list.ts";
import { occurrenceOf, splitInstanceId } from "./recurrence.ts";
import { CALENDAR_READ_SCOPES, CALENDAR_WRITE_SCOPES } from "./scopes.ts";
import type { EmulatorState } from "./state.ts";

/** Path of events.list on the primary calendar. */
export const EVENTS_PATH = "/calendar/v3/calendars/primary/events";

const SEND_UPDATES = ["all", "externalOnly", "none"];

/** 400 with Google's body for a refused input. */
export function inputErrorResponse(error: InputError): Response {
  if (error.reason === "timeRangeEmpty") return calendarErrorResponse("timeRangeEmpty");
  return calendarErrorResponse("badRequest", { reason: error.reason, message: error.message });
}

function zoneOf(ctx: CalendarContext, calendar: Calendar): string {
  return ctx.query.get("timeZone") ?? calendar.timeZone;
}

function maxAttendees(query: URLSearchParams): number | undefined {
  const raw = query.get("maxAttendees");
  return raw === null ? undefined : Number(raw);
}

/** The event JSON of a write's answer. */
function eventJson(ctx: CalendarContext, calendar: Calendar, event: StoredEvent): Response {
  const options = { zone: zoneOf(ctx, calendar) } as Parameters<typeof renderEvent>[2];
  const max = maxAttendees(ctx.query);
  if (max !== undefined) options.maxAttendees = max;
  return Response.json(renderEvent(calendar, event, options));
}

/** Checks the write parameters shared by insert, patch, update and delete. */
function writeParams(query: URLSearchParams): { conferenceDataVersion: number } | Response {
  const sendUpdates = query.get("sendUpdates");
  if (sendUpdates !== null && !SEND_UPDATES.includes(sendUpdates)) {
    return calendarErrorResponse("badRequest", {
      reason: "invalid",
      message: `Invalid value for sendUpdates: ${sendUpdates}`,
    });
  }
  const version = Number(query.get("conferenceDataVersion") ?? "0");
  if (version !== 0 && version !== 1) {
    return calendarErrorResponse("badRequest", {
      reason: "invalid",
      message: "Invalid conference data version value.",
    });
  }
  return { conferenceDataVersion: version };
}

async function readBody(req: Request): Promise<Record<string, unknown> | Response> {
  const body = await req.json().catch(() => undefined);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return calendarErrorResponse("badRequest", { reason: "parseError", message: "Parse Error" });
  }
  return body as Record<string, unknown>;
}

/**
 * The event an id names: a stored event (cancelled ones included), or the untouched instance of
 * a stored series at a real occurrence.
 */
export function findEvent(calendar: Calendar, id: string): StoredEvent | undefined {
  const stored = calendar.events.get(id);
  if (stored !== undefined) return stored;
  const series = seriesOfInstance(calendar, id);
  const stamp = splitInstanceId(id)?.stamp;
  if (series === undefined || stamp === undefined) return undefined;
  const occurrence = occurrenceOf(seriesTimes(calendar, series), stamp);
  return occurrence === undefined ? undefined : virtualInstance(calendar, series, occurrence);
}

/** A stale `If-Match` gives 412 conditionNotMet. */
function preconditionFails(ifMatch: string | null, event: StoredEvent): boolean {
  return ifMatch !== null && ifMatch !== "*" && ifMatch !== event.etag;
}

/** Records who would be emailed for a write (`sendUpdates`), for the notices control. */
function notify(
  state: EmulatorState,
  calendar: Calendar,
  event: StoredEvent,
  query: URLSearchParams,
  method: string,
): void {
  const mode = query.get("sendUpdates") ?? "none";
  if (mode === "none") return;
  const domain = calendar.owner.split("@")[1];
  const recipients = ((event.fields.attendees ?? []) as { email: string; self?: boolean }[])
    .filter((a) => a.self !== true)
    .filter((a) => mode === "all" || a.email.split("@")[1] !== domain)
    .map((a) => a.email);
  state.calendarNotices.push({ calendarId: calendar.id, eventId: event.id, method, recipients });
  if (state.calendarNotices.length > 1000) state.calendarNotices.shift();
}

async function insert(ctx: CalendarContext, calendar: Calendar): Promise<Response> {
  const params = writeParams(ctx.query);
  if (params instanceof Response) return params;
  const body = await readBody(ctx.req);
  if (body instanceof Response) return body;
  const result = insertEvent(ctx.state, calendar, body, {
    conferenceDataVersion: params.conferenceDataVersion,
    origin: "api",
  });
  if (result instanceof Response) return result;
  notify(ctx.state, calendar, result, ctx.query, "insert");
  return eventJson(ctx, calendar, result);
}

/** events.insert's core, shared with the "another client" control. */
export function insertEvent(
  state: EmulatorState,
  calendar: Calendar,
  body: Record<string, unknown>,
  options: { conferenceDataVersion: number; origin: StoredEvent["origin"] },
): StoredEvent | Response {
  const { id } = body;
  if (id !== undefined && (typeof id !== "string" || !isValidEventId(id))) {
    return calendarErrorResponse("badRequest", {
      reason: "invalid",
      message: "Invalid resource id value.",
    });
  }
  // Google keeps deleted events: their ids stay taken.
  if (typeof id === "string" && findEvent(calendar, id) !== undefined) {
    return calendarErrorResponse("duplicate");
  }
  const event = state.calendars.blank(typeof id === "string" ? id : newEventId(), options.origin);
  if (typeof body.iCalUID === "string" && body.iCalUID !== "") event.iCalUID = body.iCalUID;
  const error = applyEventInput(calendar, event, body, {
    mode: "insert",
    conferenceDataVersion: options.conferenceDataVersion,
    allowOrganizer: options.origin === "control",
  });
  if (error !== undefined) return inputErrorResponse(error);
  return state.calendars.commit(calendar, event);
}

function get(ctx: CalendarContext, calendar: Calendar): Response {
  const event = findEvent(calendar, ctx.params.eventId ?? "");
  if (event === undefined) return calendarErrorResponse("notFound");
  if (ctx.req.headers.get("if-none-match") === event.etag) {
    return new Response(null, { status: 304, headers: { etag: event.etag } });
  }
  // "The get method always returns" cancelled events (Event resource, status).
  return eventJson(ctx, calendar, event);
}

async function write(
  ctx: CalendarContext,
  calendar: Calendar,
  mode: "patch" | "update",
): Promise<Response> {
  const params = writeParams(ctx.query);
  if (params instanceof Response) return params;
  const body = await readBody(ctx.req);
  if (body instanceof Response) return body;
  const result = writeEvent(ctx.state, calendar, ctx.params.eventId ?? "", body, {
    mode,
    conferenceDataVersion: params.conferenceDataVersion,
    origin: "api",
    ifMatch: ctx.req.headers.get("if-match"),
  });
  if (result instanceof Response) return result;
  notify(ctx.state, calendar, result, ctx.query, mode);
  return eventJson(ctx, calendar, result);
}

/** events.patch/update's core, shared with the "another client" control. */
export function writeEvent(
  state: EmulatorState,
  calendar: Calendar,
  id: string,
  body: Record<string, unknown>,
  options: {
    mode: "patch" | "update";
    conferenceDataVersion: number;
    origin: StoredEvent["origin"];
    ifMatch: string | null;
  },
): StoredEvent | Response {
  const found = findEvent(calendar, id);
  if (found === undefined) return calendarErrorResponse("notFound");
  if (preconditionFails(options.ifMatch, found)) return calendarErrorResponse("conditionNotMet");
  const event = structuredClone(found);
  event.origin = options.origin;
  const error = applyEventInput(calendar, event, body, {
    mode: options.mode,
    conferenceDataVersion: options.conferenceDataVersion,
    allowOrganizer: options.origin === "control",
  });
  if (error !== undefined) return inputErrorResponse(error);
  return state.calendars.commit(calendar, event);
}

function remove(ctx: CalendarContext, calendar: Calendar): Response {
  const params = writeParams(ctx.query);
  if (params instanceof Response) return params;
  const result = deleteEvent(ctx.state, calendar, ctx.params.eventId ?? "", {
    origin: "api",
    ifMatch: ctx.req.headers.get("if-match"),
  });
  if (result instanceof Response) return result;
  notify(ctx.state, calendar, result, ctx.query, "delete");
  return new Response(null, { status: 204 });
}

/** events.delete's core: 404 unknown, 410 already deleted, else cancelled (series: all of it). */
export function deleteEvent(
  state: EmulatorState,
  calendar: Calendar,
  id: string,
  options: { origin: StoredEvent["origin"]; ifMatch: string | null },
): StoredEvent | Response {
  const found = findEvent(calendar, id);
  if (found === undefined) return calendarErrorResponse("notFound");
  if (found.status === "cancelled") return calendarErrorResponse("deleted");
  if (preconditionFails(options.ifMatch, found)) return calendarErrorResponse("conditionNotMet");
  const cancel = (event: StoredEvent) => {
    const next = structuredClone(event);
    next.status = "cancelled";
    next.sequence += 1;
    next.origin = options.origin;
    return state.calendars.commit(calendar, next);
  };
  if (isSeries(found)) {
    for (const exception of calendar.events.values()) {
      if (exception.recurringEventId === found.id && exception.status !== "cancelled") {
        cancel(exception);
      }
    }
  }
  return cancel(found);
}

function list(ctx: CalendarContext, calendar: Calendar, seriesId?: string): Response {
  const page = listEvents(calendar, ctx.query, {
    pageCap: ctx.state.config.eventsPageCap,
    now: ctx.state.now(),
    ...(seriesId === undefined ? {} : { seriesId }),
  });
  if ("status" in page) {
    if (page.status === 410) return calendarErrorResponse("fullSyncRequired");
    return page.reason === "timeRangeEmpty"
      ? calendarErrorResponse("timeRangeEmpty")
      : calendarErrorResponse("badRequest", { message: page.message });
  }
  const zone = zoneOf(ctx, calendar);
  const max = maxAttendees(ctx.query);
  const lastUpdate = Math.max(0, ...[...calendar.events.values()].map((e) => e.updated));
  const body: Record<string, unknown> = {
    kind: "calendar#events",
    etag: `"${calendar.changeSeq}"`,
    summary: calendar.summary,
    updated: new Date(lastUpdate || ctx.state.now()).toISOString(),
    timeZone: calendar.timeZone,
    accessRole: "owner",
    defaultReminders: [{ method: "popup", minutes: 10 }],
  };
  if (page.nextPageToken !== undefined) body.nextPageToken = page.nextPageToken;
  if (page.nextSyncToken !== undefined) body.nextSyncToken = page.nextSyncToken;
  body.items = page.items.map((event) =>
    renderEvent(calendar, event, {
      zone,
      minimalCancelled: true,
      ...(max === undefined ? {} : { maxAttendees: max }),
    })
  );
  return Response.json(body);
}

function instances(ctx: CalendarContext, calendar: Calendar): Response {
  const series = calendar.events.get(ctx.params.eventId ?? "");
  if (series === undefined) return calendarErrorResponse("notFound");
  if (series.status === "cancelled") return calendarErrorResponse("deleted");
  return list(ctx, calendar, series.id);
}

const ON = (
  handler: (ctx: CalendarContext, calendar: Calendar) => Response | Promise<Response>,
) =>
(ctx: CalendarContext) =>
  ctx.calendar === undefined ? calendarErrorResponse("notFound") : handler(ctx, ctx.calendar);

const EVENTS = "/calendars/{calendarId}/events";
const EVENT = `${EVENTS}/{eventId}`;

/** The Events routes for the Calendar router. */
export const EVENT_ROUTES: CalendarRoute[] = [
  {
    method: "GET",
    path: EVENTS,
    name: "calendar.v3.Events.List",
    scopes: CALENDAR_READ_SCOPES,
    handle: ON((ctx, calendar) => list(ctx, calendar)),
  },
  {
    method: "POST",
    path: EVENTS,
    name: "calendar.v3.Events.Insert",
    scopes: CALENDAR_WRITE_SCOPES,
    handle: ON(insert),
  },
  {
    method: "GET",
    path: EVENT,
    name: "calendar.v3.Events.Get",
    scopes: CALENDAR_READ_SCOPES,
    handle: ON(get),
  },
  {
    method: "PATCH",
    path: EVENT,
    name: "calendar.v3.Events.Patch",
    scopes: CALENDAR_WRITE_SCOPES,
    handle: ON((ctx, calendar) => write(ctx, calendar, "patch")),
  },
  {
    method: "PUT",
    path: EVENT,
    name: "calendar.v3.Events.Update",
    scopes: CALENDAR_WRITE_SCOPES,
    handle: ON((ctx, calendar) => write(ctx, calendar, "update")),
  },
  {
    method: "DELETE",
    path: EVENT,
    name: "calendar.v3.Events.Delete",
    scopes: CALENDAR_WRITE_SCOPES,
    handle: ON(remove),
  },
  {
    method: "GET",
    path: `${EVENT}/instances`,
    name: "calendar.v3.Events.Instances",
    scopes: CALENDAR_READ_SCOPES,
    handle: ON(instances),
  },
];
