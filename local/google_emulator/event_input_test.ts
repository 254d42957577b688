import assert from "node:assert/strict";
import { CalendarStore, isValidEventId } from "./calendar_store.ts";
import { applyEventInput, mergePatch } from "./event_input.ts";

function fresh() {
  const store = new CalendarStore(() => Date.parse("2026-01-01T00:00:00Z"));
  const calendar = store.primary("ada@example.com");
  return { store, calendar, event: store.blank("abcde00001", "api") };
}

const start = { dateTime: "2026-03-30T09:00:00", timeZone: "Europe/Paris" };
const end = { dateTime: "2026-03-30T10:00:00", timeZone: "Europe/Paris" };
const insert = { mode: "insert", conferenceDataVersion: 0 } as const;

Deno.test("applyEventInput() refuses bad input with Google's reason and leaves the event as it was", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ start }, "required"],
    [{ start: end, end: start }, "timeRangeEmpty"],
    [{ start, end, status: "maybe" }, "invalid"],
    [{ start, end, attendees: [{ email: "not an email" }] }, "invalid"],
    [{ start, end, attendees: [{}] }, "required"],
    [
      { start, end, reminders: { useDefault: true, overrides: [{ method: "popup", minutes: 5 }] } },
      "cannotUseDefaultRemindersAndSpecifyOverride",
    ],
    [{ start, end, reminders: { overrides: [{ method: "sms", minutes: 5 }] } }, "invalid"],
    [{ start, end, summary: 42 }, "invalid"],
  ];
  for (const [input, reason] of cases) {
    const { calendar, event } = fresh();
    const before = structuredClone(event);
    assert.equal(
      applyEventInput(calendar, event, input, insert)?.reason,
      reason,
      JSON.stringify(input),
    );
    assert.deepEqual(event, before);
  }
});

Deno.test("applyEventInput() marks the owner's attendee entry self and defaults needsAction", () => {
  const { calendar, event } = fresh();
  const error = applyEventInput(calendar, event, {
    start,
    end,
    attendees: [{ email: "Bob@Example.org" }, {
      email: "ada@example.com",
      responseStatus: "accepted",
    }, {
      email: "bob@example.org",
    }],
  }, insert);
  assert.equal(error, undefined);
  assert.deepEqual(event.fields.attendees, [
    { email: "bob@example.org", responseStatus: "needsAction" },
    { email: "ada@example.com", organizer: true, self: true, responseStatus: "accepted" },
  ]);
  assert.deepEqual(event.fields.organizer, { email: "ada@example.com", self: true });
});

Deno.test("applyEventInput() bumps sequence on a time change, not on a title change", () => {
  const { calendar, event } = fresh();
  applyEventInput(calendar, event, { start, end }, insert);
  const patch = { mode: "patch", conferenceDataVersion: 0 } as const;
  applyEventInput(calendar, event, { summary: "renamed" }, patch);
  assert.equal(event.sequence, 0);
  applyEventInput(calendar, event, { start: { dateTime: "2026-03-30T08:00:00" } }, patch);
  assert.equal(event.sequence, 1);
  assert.equal(event.startMs, Date.parse("2026-03-30T06:00:00Z"), "the kept timeZone applies");
});

Deno.test("mergePatch() merges objects, replaces arrays, clears with null at any depth", () => {
  assert.deepEqual(
    mergePatch(
      { start: { dateTime: "x", timeZone: "Z" }, attendees: [1, 2], summary: "a", location: "l" },
      { start: { date: "2026-01-01", dateTime: null }, attendees: [3], location: null },
    ),
    { start: { date: "2026-01-01", timeZone: "Z" }, attendees: [3], summary: "a", location: null },
  );
  // Without the null, both forms stay, as at Google (which then refuses the event).
  assert.deepEqual(
    mergePatch({ start: { dateTime: "x", timeZone: "Z" } }, { start: { date: "2026-01-01" } }),
    { start: { dateTime: "x", timeZone: "Z", date: "2026-01-01" } },
  );
});

Deno.test("isValidEventId() is Google's rule: base32hex, 5 to 1024 characters", () => {
  assert.equal(isValidEventId("abcde"), true);
  assert.equal(isValidEventId("0123456789abcdefghijklmnopqrstuv"), true);
  assert.equal(isValidEventId("abcd"), false);
  assert.equal(isValidEventId("abcdw"), false);
  assert.equal(isValidEventId("ABCDE"), false);
  assert.equal(isValidEventId("a".repeat(1024)), true);
  assert.equal(isValidEventId("a".repeat(1025)), false);
});
