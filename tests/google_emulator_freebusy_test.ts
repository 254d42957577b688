// freebusy.query as Google's reference has it: busy periods merged and clipped, recurring
// series expanded, transparent and declined events free, and the scope rule that refuses
// calendar.events alone.
import assert from "node:assert/strict";
import {
  CALENDAR_EVENTS,
  controlCall,
  type LooseJson,
  signIn,
  TEST_EMAIL,
  testEmulator,
} from "../local/google_emulator/testing.ts";
import type { GoogleEmulator } from "../local/google_emulator/mod.ts";

const AUTH = "https://www.googleapis.com/auth/";

async function freebusy(
  emulator: GoogleEmulator,
  token: string,
  body: unknown,
): Promise<{ status: number; body: LooseJson }> {
  const res = await emulator.fetch("/calendar/v3/freeBusy", {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const at = (time: string) => ({ dateTime: `2026-03-30T${time}:00+02:00` });

async function seed(emulator: GoogleEmulator, event: Record<string, unknown>) {
  const res = await controlCall(emulator, "calendar/events", { email: TEST_EMAIL, event });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

Deno.test("emulator: freebusy.query merges and clips busy periods and skips free ones", async () => {
  const { emulator } = await testEmulator();
  const { access_token: token = "" } = await signIn(emulator, {
    params: { scope: `${AUTH}calendar.readonly` },
  });
  await seed(emulator, { summary: "a", start: at("08:00"), end: at("09:30") });
  await seed(emulator, { summary: "b", start: at("09:00"), end: at("10:00") });
  await seed(emulator, {
    summary: "free",
    start: at("11:00"),
    end: at("12:00"),
    transparency: "transparent",
  });
  await seed(emulator, {
    summary: "declined",
    start: at("13:00"),
    end: at("14:00"),
    organizer: { email: "bob@example.org" },
    attendees: [{ email: TEST_EMAIL, responseStatus: "declined" }],
  });
  await seed(emulator, {
    summary: "weekly",
    start: { dateTime: "2026-03-23T17:00:00", timeZone: "Europe/Paris" },
    end: { dateTime: "2026-03-23T18:00:00", timeZone: "Europe/Paris" },
    recurrence: ["RRULE:FREQ=WEEKLY"],
  });
  const res = await freebusy(emulator, token, {
    timeMin: "2026-03-30T06:30:00Z",
    timeMax: "2026-03-30T23:00:00Z",
    timeZone: "Europe/Paris",
    items: [{ id: "primary" }, { id: "stranger@example.org" }],
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.kind, "calendar#freeBusy");
  assert.deepEqual(res.body.calendars.primary.busy, [
    { start: "2026-03-30T08:30:00+02:00", end: "2026-03-30T10:00:00+02:00" },
    { start: "2026-03-30T17:00:00+02:00", end: "2026-03-30T18:00:00+02:00" },
  ]);
  assert.equal(res.body.calendars["stranger@example.org"].errors[0].reason, "notFound");
});

Deno.test("emulator: freebusy.query is refused with calendar.events alone, allowed with the freebusy scopes", async () => {
  const { emulator } = await testEmulator();
  const body = {
    timeMin: "2026-03-30T00:00:00Z",
    timeMax: "2026-03-31T00:00:00Z",
    items: [{ id: "primary" }],
  };
  const eventsOnly = await signIn(emulator, { params: { scope: CALENDAR_EVENTS } });
  const refused = await freebusy(emulator, eventsOnly.access_token ?? "", body);
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.errors[0].reason, "insufficientPermissions");
  assert.equal(refused.body.error.details[0].metadata.method, "calendar.v3.Freebusy.Query");
  for (
    const scope of [
      "calendar",
      "calendar.readonly",
      "calendar.freebusy",
      "calendar.events.freebusy",
    ]
  ) {
    const granted = await signIn(emulator, {
      params: { scope: `${CALENDAR_EVENTS} ${AUTH}${scope}` },
    });
    const res = await freebusy(emulator, granted.access_token ?? "", body);
    assert.equal(res.status, 200, scope);
  }
});

Deno.test("emulator: freebusy.query refuses a missing or inverted range", async () => {
  const { emulator } = await testEmulator();
  const { access_token: token = "" } = await signIn(emulator, {
    params: { scope: `${AUTH}calendar` },
  });
  assert.equal((await freebusy(emulator, token, { timeMax: "2026-03-31T00:00:00Z" })).status, 400);
  const inverted = await freebusy(emulator, token, {
    timeMin: "2026-03-31T00:00:00Z",
    timeMax: "2026-03-30T00:00:00Z",
  });
  assert.equal(inverted.status, 400);
  assert.equal(inverted.body.error.errors[0].reason, "timeRangeEmpty");
});
