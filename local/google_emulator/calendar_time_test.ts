import assert from "node:assert/strict";
import { formatInZone, isTimeZone, parseDate, parseDateTime, wallToUtc } from "./calendar_time.ts";

Deno.test("parseDateTime() reads offsets, and a local time only with a zone", () => {
  assert.equal(
    parseDateTime("2026-03-30T09:00:00+02:00", undefined),
    Date.parse("2026-03-30T07:00:00Z"),
  );
  assert.equal(
    parseDateTime("2026-03-30T09:00:00Z", "Asia/Tokyo"),
    Date.parse("2026-03-30T09:00:00Z"),
  );
  assert.equal(parseDateTime("2026-03-30T09:00:00", undefined), undefined);
  // The Monday after the spring change: 09:00 Paris is 07:00Z, the Monday before 08:00Z.
  assert.equal(
    parseDateTime("2026-03-30T09:00:00", "Europe/Paris"),
    Date.parse("2026-03-30T07:00:00Z"),
  );
  assert.equal(
    parseDateTime("2026-03-23T09:00:00", "Europe/Paris"),
    Date.parse("2026-03-23T08:00:00Z"),
  );
  assert.equal(parseDateTime("2026-02-30T09:00:00Z", undefined), undefined, "no 30 February");
  assert.equal(parseDateTime("30/03/2026 09:00", "UTC"), undefined);
});

Deno.test("formatInZone() writes Google's RFC 3339: Z for UTC, the zone's offset otherwise", () => {
  const ms = Date.parse("2026-03-30T07:00:00.123Z");
  assert.equal(formatInZone(ms, "UTC"), "2026-03-30T07:00:00Z");
  assert.equal(formatInZone(ms, "Europe/Paris"), "2026-03-30T09:00:00+02:00");
  assert.equal(formatInZone(ms, "America/St_Johns"), "2026-03-30T04:30:00-02:30");
});

Deno.test("isTimeZone() and parseDate() refuse what Google refuses", () => {
  assert.equal(isTimeZone("Europe/Paris"), true);
  assert.equal(isTimeZone("UTC"), true);
  assert.equal(isTimeZone("Mars/Olympus"), false);
  assert.equal(isTimeZone("+02:00"), false);
  assert.equal(parseDate("2026-02-29"), undefined);
  assert.equal(parseDate("2026-2-28"), undefined);
  assert.equal(
    wallToUtc(parseDate("2026-07-01")!, "Europe/Paris"),
    Date.parse("2026-06-30T22:00:00Z"),
  );
});
