import assert from "node:assert/strict";
import { expand, occurrenceOf, parseRecurrence, splitInstanceId } from "./recurrence.ts";

const weekly = (recurrence: string[]) => ({
  startMs: Date.parse("2026-03-23T08:00:00Z"), // Monday 09:00 Paris (CET)
  endMs: Date.parse("2026-03-23T08:30:00Z"),
  allDay: false,
  zone: "Europe/Paris",
  recurrence,
});

const iso = (ms: number) => new Date(ms).toISOString();

Deno.test("expand() keeps the wall time across the DST change and names instances in UTC", () => {
  const out = expand(weekly(["RRULE:FREQ=WEEKLY;COUNT=3"]), -Infinity, Infinity);
  assert.deepEqual(out.map((o) => [iso(o.startMs), iso(o.endMs), o.stamp]), [
    ["2026-03-23T08:00:00.000Z", "2026-03-23T08:30:00.000Z", "20260323T080000Z"],
    ["2026-03-30T07:00:00.000Z", "2026-03-30T07:30:00.000Z", "20260330T070000Z"],
    ["2026-04-06T07:00:00.000Z", "2026-04-06T07:30:00.000Z", "20260406T070000Z"],
  ]);
});

Deno.test("expand() honours EXDATE (with TZID or in UTC), RDATE and UNTIL in UTC", () => {
  const out = expand(
    weekly([
      "RRULE:FREQ=WEEKLY;UNTIL=20260420T070000Z",
      "EXDATE;TZID=Europe/Paris:20260330T090000",
      "EXDATE:20260406T070000Z",
      "RDATE;TZID=Europe/Paris:20260325T140000",
    ]),
    -Infinity,
    Infinity,
  );
  assert.deepEqual(out.map((o) => o.stamp), [
    "20260323T080000Z",
    "20260325T130000Z",
    "20260413T070000Z",
    "20260420T070000Z",
  ]);
});

Deno.test("expand() bounds an open series by the window; all-day series use date stamps", () => {
  const daily = { ...weekly(["RRULE:FREQ=DAILY"]) };
  const window = expand(
    daily,
    Date.parse("2027-01-01T00:00:00Z"),
    Date.parse("2027-01-03T00:00:00Z"),
  );
  assert.equal(window.length, 2);
  const allDay = {
    startMs: Date.parse("2026-05-01T00:00:00Z"),
    endMs: Date.parse("2026-05-02T00:00:00Z"),
    allDay: true,
    zone: "UTC",
    recurrence: ["RRULE:FREQ=YEARLY;COUNT=2"],
  };
  assert.deepEqual(expand(allDay, -Infinity, Infinity).map((o) => o.stamp), [
    "20260501",
    "20270501",
  ]);
});

Deno.test("parseRecurrence() refuses what is not RRULE/RDATE/EXDATE; occurrenceOf() checks instance ids", () => {
  assert.equal(parseRecurrence(["RRULE:FREQ=SOMETIMES"]), undefined);
  assert.equal(parseRecurrence(["FREQ=DAILY"]), undefined);
  assert.equal(parseRecurrence(["EXDATE:20260101T000000Z"]), undefined, "nothing to repeat");
  assert.ok(parseRecurrence(["RRULE:FREQ=DAILY;COUNT=2"]));
  const series = weekly(["RRULE:FREQ=WEEKLY;COUNT=3"]);
  assert.equal(
    occurrenceOf(series, "20260330T070000Z")?.startMs,
    Date.parse("2026-03-30T07:00:00Z"),
  );
  assert.equal(occurrenceOf(series, "20260331T070000Z"), undefined);
  assert.equal(occurrenceOf(series, "20260413T070000Z"), undefined, "past COUNT");
  assert.deepEqual(splitInstanceId("abc_def00_20260330T070000Z"), {
    seriesId: "abc_def00",
    stamp: "20260330T070000Z",
  });
  assert.equal(splitInstanceId("plainid001"), undefined);
});
