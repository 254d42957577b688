import assert from "node:assert/strict";
import { dateTimeForm, inZone, isTimeZone, plainDate, toInstant } from "./time.ts";

Deno.test("time: 09:00 Europe/Paris on the Monday after the spring change is 07:00Z", () => {
  // Summer time starts on Sunday 2026-03-29 in the EU.
  assert.equal(toInstant("2026-03-30T09:00", "Europe/Paris")?.toString(), "2026-03-30T07:00:00Z");
  // The Monday before, still winter time: 08:00Z.
  assert.equal(toInstant("2026-03-23T09:00", "Europe/Paris")?.toString(), "2026-03-23T08:00:00Z");
});

Deno.test("time: an offset date-time is an instant as written; impossible dates are refused", () => {
  assert.equal(toInstant("2026-03-30T09:00:00+02:00")?.toString(), "2026-03-30T07:00:00Z");
  assert.equal(toInstant("2026-03-30T07:00z")?.toString(), "2026-03-30T07:00:00Z");
  assert.equal(toInstant("2026-02-30T09:00:00Z"), null);
  assert.equal(toInstant("2026-03-30T25:00:00Z"), null);
  assert.equal(toInstant("2026-03-30T09:00"), null, "a local time needs a zone");
  assert.equal(toInstant("tomorrow 9am", "Europe/Paris"), null);
});

Deno.test("time: a skipped local time moves forward", () => {
  assert.equal(toInstant("2026-03-29T02:30", "Europe/Paris")?.toString(), "2026-03-29T01:30:00Z");
});

Deno.test("time: forms, zones and dates", () => {
  assert.equal(dateTimeForm("2026-03-30T09:00:00.5+02:00"), "offset");
  assert.equal(dateTimeForm("2026-03-30T09:00:00"), "local");
  assert.equal(dateTimeForm("30/03/2026 09:00"), "invalid");
  assert.equal(isTimeZone("Europe/Paris"), true);
  assert.equal(isTimeZone("UTC"), true);
  assert.equal(isTimeZone("Mars/Olympus_Mons"), false);
  assert.equal(isTimeZone("+02:00"), false);
  assert.equal(plainDate("2026-02-29"), null);
  assert.equal(plainDate("2026-03-01")?.toString(), "2026-03-01");
  assert.equal(
    inZone(toInstant("2026-03-30T07:00Z")!, "Europe/Paris"),
    "2026-03-30T09:00:00+02:00",
  );
});

Deno.test("time: a negative offset is an offset date-time too", () => {
  assert.equal(dateTimeForm("2026-03-30T02:00:00-05:00"), "offset");
  assert.equal(toInstant("2026-03-30T02:00:00-05:00")?.toString(), "2026-03-30T07:00:00Z");
});
