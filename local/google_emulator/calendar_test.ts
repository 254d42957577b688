import assert from "node:assert/strict";
import { type CalendarEvent, parseSeedEvents } from "./calendar.ts";

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
