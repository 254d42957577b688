import assert from "node:assert/strict";
import { Temporal } from "temporal-polyfill";
import { freeSlots, mergeIntervals } from "./free_slots.ts";

const at = (s: string) => Date.parse(s);
const query = {
  firstDay: Temporal.PlainDate.from("2026-03-30"),
  lastDay: Temporal.PlainDate.from("2026-03-31"),
  workStart: Temporal.PlainTime.from("09:00"),
  workEnd: Temporal.PlainTime.from("17:00"),
  workingDays: [1, 2, 3, 4, 5],
  timeZone: "Europe/Paris",
  durationMs: 60 * 60_000,
  notBefore: 0,
  maxSlots: 10,
};

Deno.test("free slots: around a busy morning, in the user's zone (summer time: UTC+2)", () => {
  // Busy 09:00-12:30 Paris on Monday = 07:00-10:30Z.
  const slots = freeSlots({ ...query, lastDay: query.firstDay }, [
    { start: at("2026-03-30T07:00:00Z"), end: at("2026-03-30T10:30:00Z") },
  ]);
  assert.deepEqual(
    slots.map((s) => [new Date(s.start).toISOString(), new Date(s.end).toISOString()]),
    [
      ["2026-03-30T10:30:00.000Z", "2026-03-30T15:00:00.000Z"],
    ],
  );
});

Deno.test("free slots: short gaps are skipped, weekends and the past are left out", () => {
  const slots = freeSlots({
    ...query,
    lastDay: Temporal.PlainDate.from("2026-04-05"),
    maxSlots: 50,
    notBefore: at("2026-03-31T00:00:00Z"),
  }, [
    { start: at("2026-03-31T07:00:00Z"), end: at("2026-03-31T08:30:00Z") },
    { start: at("2026-03-31T09:00:00Z"), end: at("2026-03-31T15:00:00Z") },
  ]);
  // Tuesday: 08:30-09:00Z is 30 min, skipped; nothing after 15:00Z (17:00 Paris). Wed-Fri whole.
  assert.equal(slots.length, 3);
  assert.equal(new Date(slots[0]!.start).toISOString(), "2026-04-01T07:00:00.000Z");
});

Deno.test("free slots: intervals merge", () => {
  assert.deepEqual(
    mergeIntervals([{ start: 5, end: 8 }, { start: 1, end: 5 }, { start: 9, end: 9 }]),
    [
      { start: 1, end: 8 },
    ],
  );
});

Deno.test("free slots: a gap of exactly the duration counts; a shorter one at day's end does not", () => {
  // Monday 09:00-17:00 Paris = 07:00-15:00Z; busy until 10:00Z, then 11:00-14:30Z.
  const slots = freeSlots({ ...query, lastDay: query.firstDay }, [
    { start: at("2026-03-30T07:00:00Z"), end: at("2026-03-30T10:00:00Z") },
    { start: at("2026-03-30T11:00:00Z"), end: at("2026-03-30T14:30:00Z") },
  ]);
  assert.deepEqual(
    slots.map((s) => [new Date(s.start).toISOString(), new Date(s.end).toISOString()]),
    [["2026-03-30T10:00:00.000Z", "2026-03-30T11:00:00.000Z"]],
  );
});
