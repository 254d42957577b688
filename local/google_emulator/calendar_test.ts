import assert from "node:assert/strict";
import {
  type CalendarEvent,
  decodePageToken,
  encodePageToken,
  listEvents,
  parseSeedEvents,
} from "./calendar.ts";

function seed(items: unknown[]): CalendarEvent[] {
  const events = parseSeedEvents(items);
  if (typeof events === "string") throw new Error(events);
  return events;
}

const timed = (summary: string, day: number) => ({
  summary,
  start: { dateTime: `2026-01-${String(day).padStart(2, "0")}T10:00:00Z` },
  end: { dateTime: `2026-01-${String(day).padStart(2, "0")}T11:00:00Z` },
});

Deno.test("parseSeedEvents() keeps untitled events without a summary field", () => {
  const [event] = seed([{
    start: { dateTime: "2026-01-01T10:00:00Z" },
    end: { dateTime: "2026-01-01T11:00:00Z" },
  }]);
  assert.equal(event !== undefined && "summary" in event, false);
  assert.equal(event?.eventType, "default");
});

Deno.test("parseSeedEvents() takes all-day dates and refuses mixing date with dateTime", () => {
  const [allDay] = seed([{
    summary: "Holiday",
    start: { date: "2026-01-02" },
    end: { date: "2026-01-03" },
  }]);
  assert.deepEqual(allDay?.start, { date: "2026-01-02" });
  assert.equal(
    typeof parseSeedEvents([{
      start: { date: "2026-01-02" },
      end: { dateTime: "2026-01-02T10:00:00Z" },
    }]),
    "string",
  );
  assert.equal(
    typeof parseSeedEvents([{ start: { date: "2026-1-2" }, end: { date: "2026-01-03" } }]),
    "string",
  );
});

Deno.test("parseSeedEvents() adds the properties Google sends with special event types", () => {
  const [birthday, ooo, wl] = seed([
    { eventType: "birthday", start: { date: "2026-01-02" }, end: { date: "2026-01-03" } },
    { eventType: "outOfOffice", ...timed("Away", 3) },
    { eventType: "workingLocation", start: { date: "2026-01-04" }, end: { date: "2026-01-05" } },
  ]);
  assert.deepEqual(birthday?.birthdayProperties, { type: "birthday" });
  assert.ok(ooo?.outOfOfficeProperties);
  assert.equal(wl?.workingLocationProperties?.type, "homeOffice");
  assert.equal(typeof parseSeedEvents([{ eventType: "party", ...timed("x", 1) }]), "string");
});

Deno.test("listEvents() pages with nextPageToken under the server cap, then ends", () => {
  const events = seed([1, 2, 3, 4, 5].map((day) => timed(`e${day}`, day)));
  const query = new URLSearchParams({
    maxResults: "10",
    singleEvents: "true",
    orderBy: "startTime",
  });
  const seen: string[] = [];
  let pages = 0;
  for (;;) {
    const page = listEvents(events, query, { pageCap: 2 });
    assert.equal(typeof page, "object");
    if (typeof page === "string") return;
    pages += 1;
    seen.push(...page.items.map((event) => event.summary ?? ""));
    if (page.nextPageToken === undefined) break;
    query.set("pageToken", page.nextPageToken);
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, ["e1", "e2", "e3", "e4", "e5"]);
});

Deno.test("listEvents() refuses a page token from another query or never issued", () => {
  const events = seed([1, 2, 3].map((day) => timed(`e${day}`, day)));
  const first = listEvents(events, new URLSearchParams({ maxResults: "1" }));
  if (typeof first === "string" || first.nextPageToken === undefined) throw new Error("no page");
  assert.equal(decodePageToken(first.nextPageToken)?.offset, 1);
  const other = new URLSearchParams({
    timeMin: "2026-01-02T00:00:00Z",
    pageToken: first.nextPageToken,
  });
  assert.equal(listEvents(events, other), "Invalid page token value.");
  assert.equal(
    listEvents(events, new URLSearchParams({ pageToken: "garbage" })),
    "Invalid page token value.",
  );
});

Deno.test("listEvents() returns every event type unless eventTypes (repeatable) is given", () => {
  const events = seed([
    { ...timed("meeting", 1) },
    { eventType: "outOfOffice", ...timed("away", 2) },
    { eventType: "workingLocation", start: { date: "2026-01-03" }, end: { date: "2026-01-04" } },
    { eventType: "birthday", start: { date: "2026-01-04" }, end: { date: "2026-01-05" } },
  ]);
  const all = listEvents(events, new URLSearchParams());
  assert.equal(typeof all !== "string" && all.items.length, 4);
  const query = new URLSearchParams([["eventTypes", "default"], ["eventTypes", "outOfOffice"]]);
  const some = listEvents(events, query);
  assert.deepEqual(typeof some !== "string" && some.items.map((e) => e.eventType), [
    "default",
    "outOfOffice",
  ]);
  assert.match(
    listEvents(events, new URLSearchParams({ eventTypes: "party" })) as string,
    /eventTypes/,
  );
});

Deno.test("listEvents() places all-day events at midnight UTC and bounds them like timed ones", () => {
  const events = seed([
    timed("morning", 2),
    { summary: "all day", start: { date: "2026-01-02" }, end: { date: "2026-01-03" } },
    { summary: "yesterday", start: { date: "2026-01-01" }, end: { date: "2026-01-02" } },
  ]);
  const page = listEvents(events, new URLSearchParams({ timeMin: "2026-01-02T00:00:00Z" }));
  assert.deepEqual(typeof page !== "string" && page.items.map((e) => e.summary), [
    "all day",
    "morning",
  ]);
});

Deno.test("encodePageToken() round-trips a query with non-Latin-1 text", () => {
  const cursor = { offset: 3, fingerprint: "q=réunion ☕" };
  assert.deepEqual(decodePageToken(encodePageToken(cursor)), cursor);
});
