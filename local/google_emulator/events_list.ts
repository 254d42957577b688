/**
 * events.list and events.instances over a calendar: time bounds, `q`, `eventTypes`,
 * `showDeleted`, `updatedMin`, `singleEvents` expansion, `orderBy`, paging, and sync tokens
 * (`nextSyncToken` on the last page; `syncToken` returns what changed since, deletions included).
 * https://developers.google.com/calendar/api/v3/reference/events/list
 * https://developers.google.com/calendar/api/guides/sync
 *
 * @module
 */

import { EVENT_TYPES, type EventType } from "./calendar.ts";
import type { Calendar, StoredEvent } from "./calendar_store.ts";
import { parseRfc3339 } from "./calendar_time.ts";
import { base64url } from "./crypto_utils.ts";
import { isSeries, seriesTimes, virtualInstance } from "./event_view.ts";
import { expand, MAX_INSTANCES, splitInstanceId } from "./recurrence.ts";

/** Google's ceiling for `maxResults` ("the page size can never be larger than 2500"). */
export const MAX_PAGE_SIZE = 2500;
/** events.list's default `maxResults`. */
export const DEFAULT_PAGE_SIZE = 250;
/** How far an open-ended series is expanded past the later of now and `timeMin`. */
export const EXPANSION_HORIZON_MS = 366 * 86_400_000;

/** A page of events. */
export interface EventsPage {
  items: StoredEvent[];
  nextPageToken?: string;
  nextSyncToken?: string;
  /** True for an incremental (sync token) page: cancelled events are shown minimal. */
  incremental: boolean;
}

/** A refused query: 400 with a message (and Google's reason where it has its own), or 410. */
export type ListError = { status: 400; message: string; reason?: "timeRangeEmpty" } | {
  status: 410;
};

/** Parameters that Google refuses together with `syncToken`. */
const NOT_WITH_SYNC = [
  "iCalUID",
  "orderBy",
  "privateExtendedProperty",
  "q",
  "sharedExtendedProperty",
  "timeMin",
  "timeMax",
  "updatedMin",
];

const bad = (message: string): ListError => ({ status: 400, message });

/** Options of {@linkcode listEvents}. */
export interface ListOptions {
  /** The server's own page cap (at most {@linkcode MAX_PAGE_SIZE}). */
  pageCap: number;
  now: number;
  /** events.instances: only this series' instances, always expanded. */
  seriesId?: string;
}

/** Runs the query; returns a page or the refusal. */
export function listEvents(
  calendar: Calendar,
  query: URLSearchParams,
  options: ListOptions,
): EventsPage | ListError {
  const instancesOf = options.seriesId;
  const singleEvents = instancesOf !== undefined || query.get("singleEvents") === "true";
  const orderBy = query.get("orderBy");
  if (orderBy !== null && orderBy !== "startTime" && orderBy !== "updated") {
    return bad("Invalid value for orderBy");
  }
  // Google refuses to order recurring series by start unless they are expanded.
  if (orderBy === "startTime" && !singleEvents) {
    return bad("The requested ordering is not available for the particular query.");
  }
  const maxParam = query.get("maxResults");
  const maxResults = maxParam === null ? DEFAULT_PAGE_SIZE : Number(maxParam);
  if (!Number.isInteger(maxResults) || maxResults < 1) return bad("Invalid value for maxResults");
  const timeMin = parseBound(query.get("timeMin"), -Infinity);
  const timeMax = parseBound(query.get("timeMax"), Infinity);
  const updatedMin = parseBound(query.get("updatedMin"), -Infinity);
  if ([timeMin, timeMax, updatedMin].some(Number.isNaN)) return bad("Bad Request");
  if (timeMin >= timeMax) {
    return { status: 400, message: "The specified time range is empty.", reason: "timeRangeEmpty" };
  }
  const types = query.getAll("eventTypes");
  const unknownType = types.find((type) => !EVENT_TYPES.includes(type as EventType));
  if (unknownType !== undefined) return bad(`Invalid value for eventTypes: ${unknownType}`);
  const fingerprint = queryFingerprint(query);
  const pageToken = query.get("pageToken");
  const cursor = pageToken === null ? undefined : decodePageToken(pageToken);
  if (pageToken !== null && (cursor === undefined || cursor.fingerprint !== fingerprint)) {
    return bad("Invalid page token value.");
  }
  const syncToken = query.get("syncToken");
  let sinceSeq: number | undefined;
  if (syncToken !== null) {
    const clash = NOT_WITH_SYNC.find((name) => query.has(name));
    if (clash !== undefined) return bad(`The syncToken parameter cannot be used with ${clash}.`);
    if (query.get("showDeleted") === "false") {
      return bad("The showDeleted parameter cannot be false with a syncToken.");
    }
    const decoded = decodeSyncToken(syncToken);
    if (
      decoded === undefined || decoded.calendarId !== calendar.id ||
      decoded.epoch !== calendar.syncEpoch || decoded.seq > calendar.changeSeq
    ) return { status: 410 };
    if (cursor !== undefined && cursor.since === undefined) return bad("Invalid page token value.");
    sinceSeq = decoded.seq;
  }
  // The later pages of an incremental list: the token may be left out, and an invalidation
  // between pages is a 410 like on the first page.
  if (cursor?.since !== undefined) {
    if (cursor.epoch !== calendar.syncEpoch) return { status: 410 };
    sinceSeq = cursor.since;
  }
  // Deletions are always in an incremental or updatedMin list.
  const showDeleted = query.get("showDeleted") === "true" || sinceSeq !== undefined ||
    updatedMin > -Infinity;
  const offset = cursor?.offset ?? 0;
  const snapshot = cursor?.seq ?? calendar.changeSeq;
  const terms = (query.get("q") ?? "").toLowerCase().split(/\s+/).filter((t) => t !== "");
  const iCalUID = query.get("iCalUID");
  const horizon = Math.max(options.now, timeMin) + EXPANSION_HORIZON_MS;
  const keep = (event: StoredEvent) =>
    (showDeleted || event.status !== "cancelled") &&
    (sinceSeq === undefined || event.changeSeq > sinceSeq) &&
    event.updated >= updatedMin &&
    (event.status === "cancelled" && sinceSeq !== undefined ||
      (event.endMs > timeMin || (event.endMs === event.startMs && event.startMs >= timeMin)) &&
        event.startMs < timeMax) &&
    (types.length === 0 || types.includes(String(event.fields.eventType ?? "default"))) &&
    (iCalUID === null || event.iCalUID === iCalUID) &&
    terms.every((term) => searchText(event).includes(term));
  const stored = [...calendar.events.values()].filter((event) =>
    instancesOf === undefined ||
    event.id === instancesOf || event.recurringEventId === instancesOf
  );
  const matching: StoredEvent[] = [];
  for (const event of stored) {
    if (!singleEvents || !isSeries(event)) {
      if (singleEvents && event.recurringEventId !== undefined) {
        const series = calendar.events.get(event.recurringEventId);
        if (series?.status === "cancelled" && !showDeleted) continue;
      }
      if (keep(event)) matching.push(event);
      continue;
    }
    if (event.status === "cancelled") {
      if (sinceSeq !== undefined && event.changeSeq > sinceSeq) matching.push(event);
      continue;
    }
    // Expanded: the series' occurrences, except where an exception (own record) exists.
    const to = Math.min(timeMax, horizon);
    const from = timeMin === -Infinity ? event.startMs : timeMin - (event.endMs - event.startMs);
    for (const occurrence of expand(seriesTimes(calendar, event), from, to, MAX_INSTANCES)) {
      const id = `${event.id}_${occurrence.stamp}`;
      if (calendar.events.has(id)) continue;
      const instance = virtualInstance(calendar, event, occurrence);
      if (keep(instance)) matching.push(instance);
    }
  }
  const sorted = orderBy === "updated"
    ? matching.toSorted((a, b) => a.updated - b.updated)
    : matching.toSorted((a, b) => a.startMs - b.startMs || a.id.localeCompare(b.id));
  const size = Math.min(maxResults, Math.min(options.pageCap, MAX_PAGE_SIZE));
  const page: EventsPage = {
    items: sorted.slice(offset, offset + size),
    incremental: sinceSeq !== undefined,
  };
  if (offset + size < sorted.length) {
    page.nextPageToken = encodePageToken({
      offset: offset + size,
      fingerprint,
      seq: snapshot,
      ...(sinceSeq === undefined ? {} : { since: sinceSeq, epoch: calendar.syncEpoch }),
    });
  } else {
    page.nextSyncToken = encodeSyncToken({
      calendarId: calendar.id,
      epoch: calendar.syncEpoch,
      seq: snapshot,
    });
  }
  return page;
}

/** True when `id` names an instance (or exception) of a series stored in the calendar. */
export function seriesOfInstance(calendar: Calendar, id: string): StoredEvent | undefined {
  const split = splitInstanceId(id);
  if (split === undefined) return undefined;
  const series = calendar.events.get(split.seriesId);
  return series !== undefined && isSeries(series) ? series : undefined;
}

function searchText(event: StoredEvent): string {
  const { fields } = event;
  const people = [
    fields.organizer,
    ...((fields.attendees as unknown[] | undefined) ?? []),
  ] as { email?: string; displayName?: string }[];
  return [
    fields.summary,
    fields.description,
    fields.location,
    ...people.flatMap((p) => [p?.email, p?.displayName]),
  ].filter((part) => typeof part === "string").join("\n").toLowerCase();
}

function parseBound(value: string | null, fallback: number): number {
  return value === null ? fallback : parseRfc3339(value);
}

/** The query minus paging and sync token: a page token only continues the same query. */
function queryFingerprint(query: URLSearchParams): string {
  const skipped = ["pageToken", "maxResults", "syncToken"];
  const rest = [...query].filter(([name]) => !skipped.includes(name));
  return rest.map(([name, value]) => `${name}=${value}`).sort().join("&");
}

interface PageCursor {
  offset: number;
  fingerprint: string;
  /** The calendar's change counter when the first page was read. */
  seq: number;
  /** An incremental list: the sync token's counter and the calendar's sync epoch. */
  since?: number;
  epoch?: number;
}

interface SyncCursor {
  calendarId: string;
  epoch: number;
  seq: number;
}

function encodeJson(value: unknown): string {
  return base64url(new TextEncoder().encode(JSON.stringify(value)));
}

function decodeJson(token: string): unknown {
  try {
    const binary = atob(token.replaceAll("-", "+").replaceAll("_", "/"));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch {
    return undefined;
  }
}

const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0;

/** An opaque page token (base64url JSON), like Google's opaque strings. */
export function encodePageToken(cursor: PageCursor): string {
  return encodeJson([
    "p",
    cursor.offset,
    cursor.fingerprint,
    cursor.seq,
    cursor.since ?? null,
    cursor.epoch ?? null,
  ]);
}

/** The cursor of a page token, or undefined for a token the emulator never issued. */
export function decodePageToken(token: string): PageCursor | undefined {
  const value = decodeJson(token);
  if (!Array.isArray(value) || value[0] !== "p") return undefined;
  const [, offset, fingerprint, seq, since, epoch] = value;
  if (!isCount(offset) || typeof fingerprint !== "string" || !isCount(seq)) return undefined;
  if (since === null || since === undefined) return { offset, fingerprint, seq };
  if (!isCount(since) || !isCount(epoch)) return undefined;
  return { offset, fingerprint, seq, since, epoch };
}

/** An opaque sync token. */
export function encodeSyncToken(cursor: SyncCursor): string {
  return encodeJson(["s", cursor.calendarId, cursor.epoch, cursor.seq]);
}

/** The cursor of a sync token, or undefined for one the emulator never issued. */
export function decodeSyncToken(token: string): SyncCursor | undefined {
  const value = decodeJson(token);
  if (!Array.isArray(value) || value[0] !== "s") return undefined;
  const [, calendarId, epoch, seq] = value;
  if (typeof calendarId !== "string" || !isCount(epoch) || !isCount(seq)) return undefined;
  return { calendarId, epoch, seq };
}
