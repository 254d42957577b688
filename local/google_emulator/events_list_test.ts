import assert from "node:assert/strict";
import { parseSeedEvents } from "./calendar.ts";
import { type Calendar, CalendarStore } from "./calendar_store.ts";
import { applyEventInput } from "./event_input.ts";
import {
  decodePageToken,
  encodePageToken,
  type EventsPage,
  type ListError,
  listEvents,
} from "./events_list.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");

function calendarWith(items: unknown[], zone = "UTC"): { store: CalendarStore; cal: Calendar } {
  const store = new CalendarStore(() => NOW);
  const cal = store.primary("ada@example.com");
  cal.timeZone = zone;
  const parsed = parseSeedEvents(items);
  if (typeof parsed === "string") throw new Error(parsed);
  for (const { kind: _, id, status: __, ...fields } of parsed) {
    const event = store.blank(id, "control");
    const error = applyEventInput(cal, event, { ...fields, ...extra(items, id) }, {
      mode: "insert",
      conferenceDataVersion: 0,
    });
    if (error !== undefined) throw new Error(error.message);
    store.commit(cal, event);
  }
  return { store, cal };
}

/** Seeds carry only seed fields; recurrence and zones ride along from the raw item. */
function extra(items: unknown[], id: string): Record<string, unknown> {
  const raw = items.find((item) => (item as { id?: string }).id === id) as
    | Record<string, unknown>
    | undefined;
  const out: Record<string, unknown> = {};
  if (raw?.recurrence !== undefined) out.recurrence = raw.recurrence;
  if (raw?.start !== undefined) out.start = raw.start;
  if (raw?.end !== undefined) out.end = raw.end;
  return out;
}

function page(cal: Calendar, query: Record<string, string> | URLSearchParams, pageCap = 2500) {
  const result = listEvents(cal, new URLSearchParams(query), { pageCap, now: NOW });
  if ("status" in result) throw new Error(`refused: ${JSON.stringify(result)}`);
  return result;
}

function refused(cal: Calendar, query: Record<string, string>): ListError {
  const result = listEvents(cal, new URLSearchParams(query), { pageCap: 2500, now: NOW });
  if (!("status" in result)) throw new Error("expected a refusal");
  return result;
}

const summaries = (p: EventsPage) => p.items.map((e) => e.fields.summary);

const timed = (summary: string, day: number) => ({
  id: `e${summary.replace(/\W/g, "").toLowerCase()}0${day}`.slice(0, 20).padEnd(5, "0"),
  summary,
  start: { dateTime: `2026-01-${String(day).padStart(2, "0")}T10:00:00Z` },
  end: { dateTime: `2026-01-${String(day).padStart(2, "0")}T11:00:00Z` },
});

Deno.test("listEvents() pages with nextPageToken under the server cap, then gives nextSyncToken", () => {
  const { cal } = calendarWith([1, 2, 3, 4, 5].map((day) => timed(`e${day}`, day)));
  const query = new URLSearchParams({
    maxResults: "10",
    singleEvents: "true",
    orderBy: "startTime",
  });
  const seen: unknown[] = [];
  let pages = 0;
  for (;;) {
    const result = page(cal, query, 2);
    pages += 1;
    seen.push(...summaries(result));
    if (result.nextPageToken === undefined) {
      assert.equal(typeof result.nextSyncToken, "string");
      break;
    }
    assert.equal(result.nextSyncToken, undefined, "only the last page has a sync token");
    query.set("pageToken", result.nextPageToken);
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, ["e1", "e2", "e3", "e4", "e5"]);
});

Deno.test("listEvents() refuses a page token from another query or never issued", () => {
  const { cal } = calendarWith([1, 2, 3].map((day) => timed(`e${day}`, day)));
  const first = page(cal, { maxResults: "1" });
  assert.equal(decodePageToken(first.nextPageToken ?? "")?.offset, 1);
  const other = refused(cal, { timeMin: "2026-01-02T00:00:00Z", pageToken: first.nextPageToken! });
  assert.deepEqual(other, { status: 400, message: "Invalid page token value." });
  assert.equal(refused(cal, { pageToken: "garbage" }).status, 400);
});

Deno.test("listEvents() returns every event type unless eventTypes (repeatable) is given", () => {
  const { cal } = calendarWith([
    timed("meeting", 1),
    { eventType: "outOfOffice", ...timed("away", 2) },
    {
      id: "wloc1",
      eventType: "workingLocation",
      start: { date: "2026-01-03" },
      end: { date: "2026-01-04" },
    },
  ]);
  assert.equal(page(cal, {}).items.length, 3);
  const some = page(
    cal,
    new URLSearchParams([["eventTypes", "default"], ["eventTypes", "outOfOffice"]]) as never,
  );
  assert.deepEqual(some.items.map((e) => e.fields.eventType), ["default", "outOfOffice"]);
  assert.match(
    (refused(cal, { eventTypes: "party" }) as { message: string }).message,
    /eventTypes/,
  );
});

Deno.test("listEvents() places all-day events at midnight in the calendar's zone", () => {
  const items = [
    timed("morning", 2),
    {
      id: "allday1",
      summary: "all day",
      start: { date: "2026-01-02" },
      end: { date: "2026-01-03" },
    },
    {
      id: "yday1",
      summary: "yesterday",
      start: { date: "2026-01-01" },
      end: { date: "2026-01-02" },
    },
  ];
  const utc = calendarWith(items).cal;
  assert.deepEqual(summaries(page(utc, { timeMin: "2026-01-02T00:00:00Z" })), [
    "all day",
    "morning",
  ]);
  // In Paris, 2 January starts at 23:00Z on the 1st, so "yesterday" ends before 00:00Z.
  const paris = calendarWith(items, "Europe/Paris").cal;
  assert.deepEqual(summaries(page(paris, { timeMin: "2026-01-01T23:30:00Z" })), [
    "all day",
    "morning",
  ]);
});

Deno.test("listEvents() matches q against summary, description, location and attendees", () => {
  const { cal } = calendarWith([timed("Dentist visit", 1), timed("Lunch with Bob", 2)]);
  assert.deepEqual(summaries(page(cal, { q: "dentist" })), ["Dentist visit"]);
  assert.deepEqual(summaries(page(cal, { q: "LUNCH bob" })), ["Lunch with Bob"]);
  assert.deepEqual(summaries(page(cal, { q: "dentist bob" })), []);
});

Deno.test("listEvents() with a syncToken returns only changes, deletions included", () => {
  const { store, cal } = calendarWith([timed("one", 1), timed("two", 2)]);
  const first = page(cal, {});
  const token = first.nextSyncToken!;
  assert.equal(page(cal, { syncToken: token }).items.length, 0);
  const two = [...cal.events.values()].find((e) => e.fields.summary === "two")!;
  store.commit(cal, { ...two, status: "cancelled" });
  const changed = page(cal, { syncToken: token });
  assert.deepEqual(changed.items.map((e) => [e.id, e.status]), [[two.id, "cancelled"]]);
  assert.equal(changed.incremental, true);
  assert.equal(page(cal, {}).items.length, 1, "a full list hides cancelled events");
  assert.equal(page(cal, { showDeleted: "true" }).items.length, 2);
});

Deno.test("listEvents() refuses syncToken with timeMin or q, and an invalid token is 410", () => {
  const { cal } = calendarWith([timed("one", 1)]);
  const token = page(cal, {}).nextSyncToken!;
  assert.equal(refused(cal, { syncToken: token, timeMin: "2026-01-01T00:00:00Z" }).status, 400);
  assert.equal(refused(cal, { syncToken: token, q: "x" }).status, 400);
  assert.equal(refused(cal, { syncToken: "nonsense" }).status, 410);
  cal.syncEpoch += 1;
  assert.equal(refused(cal, { syncToken: token }).status, 410, "invalidated tokens are 410");
});

Deno.test("listEvents() expands a weekly series with singleEvents and keeps 09:00 Paris over DST", () => {
  const { cal } = calendarWith([{
    id: "weekly1",
    summary: "Standup",
    start: { dateTime: "2026-03-23T09:00:00", timeZone: "Europe/Paris" },
    end: { dateTime: "2026-03-23T09:30:00", timeZone: "Europe/Paris" },
    recurrence: ["RRULE:FREQ=WEEKLY;COUNT=3"],
  }]);
  const series = page(cal, {});
  assert.equal(series.items.length, 1, "without singleEvents the series is one item");
  const expanded = page(cal, { singleEvents: "true", orderBy: "startTime" });
  assert.deepEqual(expanded.items.map((e) => e.id), [
    "weekly1_20260323T080000Z",
    "weekly1_20260330T070000Z",
    "weekly1_20260406T070000Z",
  ]);
  assert.deepEqual(expanded.items.map((e) => new Date(e.startMs).toISOString()), [
    "2026-03-23T08:00:00.000Z",
    "2026-03-30T07:00:00.000Z",
    "2026-04-06T07:00:00.000Z",
  ]);
});

Deno.test("encodePageToken() round-trips a query with non-Latin-1 text", () => {
  const cursor = { offset: 3, fingerprint: "q=réunion ☕", seq: 7 };
  assert.deepEqual(decodePageToken(encodePageToken(cursor)), cursor);
});

Deno.test("listEvents() pages an incremental list, and an invalidation between pages is 410", () => {
  const { store, cal } = calendarWith([timed("one", 1), timed("two", 2), timed("three", 3)]);
  const token = page(cal, {}).nextSyncToken!;
  for (const event of [...cal.events.values()]) {
    store.commit(cal, {
      ...event,
      fields: { ...event.fields, summary: `${event.fields.summary}!` },
    });
  }
  const first = page(cal, { syncToken: token, maxResults: "2" });
  assert.equal(first.items.length, 2);
  const rest = page(cal, { syncToken: token, maxResults: "2", pageToken: first.nextPageToken! });
  assert.deepEqual(summaries(rest), ["three!"]);
  assert.equal(typeof rest.nextSyncToken, "string");
  const alone = page(cal, { maxResults: "2", pageToken: first.nextPageToken! });
  assert.deepEqual(summaries(alone), ["three!"], "the page token carries the sync cursor");
  cal.syncEpoch += 1;
  assert.equal(
    refused(cal, { syncToken: token, maxResults: "2", pageToken: first.nextPageToken! }).status,
    410,
  );
  assert.equal(refused(cal, { maxResults: "2", pageToken: first.nextPageToken! }).status, 410);
});
