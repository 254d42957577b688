/**
 * `POST calendars/{calendarId}/events/watch` and `POST channels/stop`: the requests Google
 * accepts and refuses for push channels. Delivery lives in push_channels.ts.
 * https://developers.google.com/calendar/api/v3/reference/events/watch
 * https://developers.google.com/calendar/api/v3/reference/channels/stop
 * https://developers.google.com/calendar/api/guides/push
 *
 * @module
 */

import { calendarErrorResponse, PROJECT_NUMBER } from "./calendar_errors.ts";
import type { CalendarContext, CalendarRoute } from "./calendar_route.ts";
import {
  channelResource,
  MAX_CHANNEL_ID_LENGTH,
  MAX_CHANNEL_TOKEN_LENGTH,
} from "./push_channels.ts";
import { CALENDAR_READ_SCOPES } from "./scopes.ts";

const bad = (message: string, reason = "invalid") =>
  calendarErrorResponse("badRequest", { reason, message });

async function readJson(req: Request): Promise<Record<string, unknown> | undefined> {
  const body = await req.json().catch(() => undefined);
  return typeof body === "object" && body !== null && !Array.isArray(body)
    ? body as Record<string, unknown>
    : undefined;
}

async function watch(ctx: CalendarContext): Promise<Response> {
  if (ctx.calendar === undefined) return calendarErrorResponse("notFound");
  const body = await readJson(ctx.req);
  if (body === undefined) return bad("Parse Error", "parseError");
  const { id, token, type, address, params, expiration } = body;
  if (typeof id !== "string" || id === "") return bad("Required channel id.", "required");
  if (id.length > MAX_CHANNEL_ID_LENGTH) return bad("Invalid channel id.");
  if (type !== "web_hook" && type !== "webhook") {
    return bad(`Invalid value for channel type: ${String(type)}`);
  }
  if (typeof address !== "string" || address === "") return bad("Required address.", "required");
  const problem = ctx.state.push.addressProblem(address);
  if (problem === "notHttps") {
    return bad(`WebHook callback must be HTTPS: ${address}`, "push.webhookUrlNotHttps");
  }
  if (problem !== undefined) return bad(`Invalid webhook address: ${address}`);
  if (
    token !== undefined && (typeof token !== "string" || token.length > MAX_CHANNEL_TOKEN_LENGTH)
  ) {
    return bad("Invalid channel token.");
  }
  const ttlRaw = (params as { ttl?: unknown } | undefined)?.ttl;
  const ttl = ttlRaw === undefined ? undefined : Number(ttlRaw);
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) {
    return bad(`Invalid value for params.ttl: ${String(ttlRaw)}`);
  }
  const requestedExpiration = expiration === undefined ? undefined : Number(expiration);
  if (requestedExpiration !== undefined && !Number.isFinite(requestedExpiration)) {
    return bad("Invalid value for expiration.");
  }
  if (ctx.state.push.live(id) !== undefined) {
    return bad("Channel id not unique", "channelIdNotUnique");
  }
  const channel = ctx.state.push.open({
    id,
    token,
    address,
    ttlSeconds: ttl,
    expiration: requestedExpiration,
    calendar: ctx.calendar,
    requestedCalendarId: ctx.params.calendarId ?? ctx.calendar.id,
    clientId: ctx.record.clientId,
  });
  return Response.json(channelResource(channel));
}

async function stop(ctx: CalendarContext): Promise<Response> {
  const body = await readJson(ctx.req);
  if (body === undefined) return bad("Parse Error", "parseError");
  const { id, resourceId } = body;
  if (typeof id !== "string" || id === "") return bad("Required channel id.", "required");
  const channel = ctx.state.push.channels.get(id);
  // A channel of another project, or named with another resource, is not found for this one.
  if (
    channel === undefined || channel.stopped || channel.clientId !== ctx.record.clientId ||
    (resourceId !== undefined && resourceId !== channel.resourceId)
  ) {
    const message = `Channel '${id}' not found for project '${PROJECT_NUMBER}'`;
    const error = calendarErrorResponse("notFound");
    const json = await error.json();
    json.error.message = message;
    json.error.errors[0].message = message;
    return Response.json(json, { status: 404 });
  }
  ctx.state.push.stop(channel);
  return new Response(null, { status: 204 });
}

/** The push routes for the Calendar router. */
export const WATCH_ROUTES: CalendarRoute[] = [
  {
    method: "POST",
    path: "/calendars/{calendarId}/events/watch",
    name: "calendar.v3.Events.Watch",
    scopes: CALENDAR_READ_SCOPES,
    handle: watch,
  },
  {
    method: "POST",
    path: "/channels/stop",
    name: "calendar.v3.Channels.Stop",
    scopes: CALENDAR_READ_SCOPES,
    handle: stop,
  },
];
