// The emulator's Events CRUD as Google's reference documents it: client ids, 409 on a taken id
// (deleted ones included), etags and If-Match, delete then 410, time zones, all-day events,
// instances of a series, and the "another client" controls.
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

const BASE = "/calendar/v3/calendars/primary/events";

async function call(
  emulator: GoogleEmulator,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: LooseJson }> {
  const res = await emulator.fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? {} : JSON.parse(text) };
}

async function setup(scope = CALENDAR_EVENTS) {
  const { emulator } = await testEmulator();
  const { access_token: token = "" } = await signIn(emulator, { params: { scope } });
  return { emulator, token };
}

const dentist = {
  summary: "Dentist",
  start: { dateTime: "2026-03-30T09:00:00", timeZone: "Europe/Paris" },
  end: { dateTime: "2026-03-30T10:00:00", timeZone: "Europe/Paris" },
};

Deno.test("emulator: events.insert takes a base32hex client id once; the second insert is 409 duplicate", async () => {
  const { emulator, token } = await setup();
  const first = await call(emulator, token, "POST", BASE, { id: "dentist0001", ...dentist });
  assert.equal(first.status, 200);
  assert.equal(first.body.id, "dentist0001");
  assert.equal(first.body.status, "confirmed");
  assert.equal(first.body.iCalUID, "dentist0001@google.com");
  assert.equal(first.body.sequence, 0);
  assert.match(first.body.etag, /^"\d+"$/);
  assert.equal(first.body.organizer.self, true);
  // 09:00 Paris on the Monday after the spring change is 07:00Z.
  assert.equal(Date.parse(first.body.start.dateTime), Date.parse("2026-03-30T07:00:00Z"));
  assert.equal(first.body.start.timeZone, "Europe/Paris");
  const again = await call(emulator, token, "POST", BASE, { id: "dentist0001", ...dentist });
  assert.equal(again.status, 409);
  assert.equal(again.body.error.errors[0].reason, "duplicate");
  const list = await call(emulator, token, "GET", BASE);
  assert.equal(list.body.items.length, 1);
});

Deno.test("emulator: events.insert refuses ids outside base32hex or 5-1024 characters", async () => {
  const { emulator, token } = await setup();
  for (const id of ["abc", "has-dash00", "UPPERCASE0", "wxyz00000", "a".repeat(1025)]) {
    const res = await call(emulator, token, "POST", BASE, { id, ...dentist });
    assert.equal(res.status, 400, id);
    assert.equal(res.body.error.errors[0].reason, "invalid", id);
  }
  const ok = await call(emulator, token, "POST", BASE, {
    id: "0123456789abcdefghijklmnopqrstuv",
    ...dentist,
  });
  assert.equal(ok.status, 200);
  const server = await call(emulator, token, "POST", BASE, dentist);
  assert.match(server.body.id, /^[a-v0-9]{5,1024}$/, "server ids are base32hex too");
});

Deno.test("emulator: events.insert refuses a bad time range, a missing zone and mixed date kinds", async () => {
  const { emulator, token } = await setup();
  const cases: [unknown, string][] = [
    [{ start: dentist.end, end: dentist.start }, "timeRangeEmpty"],
    [
      { start: { dateTime: "2026-03-30T09:00:00" }, end: { dateTime: "2026-03-30T10:00:00" } },
      "required",
    ],
    [{ start: { date: "2026-03-30" }, end: { dateTime: "2026-03-31T10:00:00Z" } }, "invalid"],
    [
      { start: { dateTime: "2026-03-30T09:00:00", timeZone: "Mars/Base" }, end: dentist.end },
      "invalid",
    ],
    [{ start: dentist.start }, "required"],
  ];
  for (const [body, reason] of cases) {
    const res = await call(emulator, token, "POST", BASE, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.body.error.errors[0].reason, reason, JSON.stringify(body));
  }
  assert.equal((await call(emulator, token, "GET", BASE)).body.items.length, 0, "nothing stored");
});

Deno.test("emulator: events.patch with a stale If-Match is 412 and changes nothing", async () => {
  const { emulator, token } = await setup();
  const created = await call(emulator, token, "POST", BASE, { id: "patchme01", ...dentist });
  const path = `${BASE}/patchme01`;
  const moved = await call(emulator, token, "PATCH", path, {
    start: { dateTime: "2026-03-30T15:00:00+02:00" },
    end: { dateTime: "2026-03-30T16:00:00+02:00" },
  }, { "if-match": created.body.etag });
  assert.equal(moved.status, 200);
  assert.notEqual(moved.body.etag, created.body.etag);
  assert.equal(moved.body.sequence, 1, "a time change bumps sequence");
  assert.equal(moved.body.summary, "Dentist", "patch keeps fields it was not given");
  const stale = await call(emulator, token, "PATCH", path, { summary: "Other" }, {
    "if-match": created.body.etag,
  });
  assert.equal(stale.status, 412);
  assert.equal(stale.body.error.errors[0].reason, "conditionNotMet");
  const now = await call(emulator, token, "GET", path);
  assert.equal(now.body.summary, "Dentist");
  assert.equal(now.body.etag, moved.body.etag);
  const update = await call(emulator, token, "PUT", path, { ...dentist, summary: "Replaced" });
  assert.equal(update.status, 200);
  assert.equal(update.body.summary, "Replaced");
  const notModified = await emulator.fetch(path, {
    headers: { authorization: `Bearer ${token}`, "if-none-match": update.body.etag },
  });
  assert.equal(notModified.status, 304);
});

Deno.test("emulator: events.delete answers 204, then 410 deleted; get still shows it cancelled; its id stays taken", async () => {
  const { emulator, token } = await setup();
  await call(emulator, token, "POST", BASE, { id: "gone00001", ...dentist });
  const path = `${BASE}/gone00001`;
  assert.equal((await call(emulator, token, "DELETE", path)).status, 204);
  const twice = await call(emulator, token, "DELETE", path);
  assert.equal(twice.status, 410);
  assert.equal(twice.body.error.errors[0].reason, "deleted");
  const got = await call(emulator, token, "GET", path);
  assert.equal(got.status, 200);
  assert.equal(got.body.status, "cancelled");
  assert.equal((await call(emulator, token, "GET", BASE)).body.items.length, 0);
  assert.equal(
    (await call(emulator, token, "POST", BASE, { id: "gone00001", ...dentist })).status,
    409,
  );
  const unknown = await call(emulator, token, "DELETE", `${BASE}/neverthere1`);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.errors[0].reason, "notFound");
  assert.equal((await call(emulator, token, "GET", `${BASE}/neverthere1`)).status, 404);
});

Deno.test("emulator: all-day events take dates and list in the calendar's zone", async () => {
  const { emulator, token } = await setup();
  await controlCall(emulator, "calendar/settings", { email: TEST_EMAIL, timeZone: "Europe/Paris" });
  const created = await call(emulator, token, "POST", BASE, {
    summary: "Holiday",
    start: { date: "2026-05-01" },
    end: { date: "2026-05-02" },
  });
  assert.deepEqual(created.body.start, { date: "2026-05-01" });
  const list = await call(
    emulator,
    token,
    "GET",
    `${BASE}?timeMin=2026-04-30T22:30:00Z&timeMax=2026-04-30T23:30:00Z`,
  );
  assert.equal(list.body.timeZone, "Europe/Paris");
  assert.deepEqual(list.body.items.map((e: LooseJson) => e.summary), ["Holiday"]);
});

Deno.test("emulator: the timeZone parameter renders dateTime in that zone", async () => {
  const { emulator, token } = await setup();
  await call(emulator, token, "POST", BASE, { id: "paris0001", ...dentist });
  const ny = await call(emulator, token, "GET", `${BASE}/paris0001?timeZone=America/New_York`);
  assert.equal(ny.body.start.dateTime, "2026-03-30T03:00:00-04:00");
  const utc = await call(emulator, token, "GET", `${BASE}/paris0001`);
  assert.equal(utc.body.start.dateTime, "2026-03-30T07:00:00Z");
  assert.equal(
    (await call(emulator, token, "GET", `${BASE}/paris0001?timeZone=Nowhere`)).status,
    400,
  );
});

Deno.test("emulator: patching one instance of a weekly series makes an exception; the rest are unchanged", async () => {
  const { emulator, token } = await setup();
  await call(emulator, token, "POST", BASE, {
    id: "series001",
    summary: "Standup",
    start: { dateTime: "2026-03-23T09:00:00", timeZone: "Europe/Paris" },
    end: { dateTime: "2026-03-23T09:30:00", timeZone: "Europe/Paris" },
    recurrence: ["RRULE:FREQ=WEEKLY;COUNT=4"],
  });
  const instances = await call(emulator, token, "GET", `${BASE}/series001/instances`);
  assert.equal(instances.status, 200);
  const ids = instances.body.items.map((e: LooseJson) => e.id);
  assert.deepEqual(ids, [
    "series001_20260323T080000Z",
    "series001_20260330T070000Z",
    "series001_20260406T070000Z",
    "series001_20260413T070000Z",
  ]);
  const moved = await call(emulator, token, "PATCH", `${BASE}/series001_20260330T070000Z`, {
    start: { dateTime: "2026-03-30T11:00:00+02:00" },
    end: { dateTime: "2026-03-30T11:30:00+02:00" },
  });
  assert.equal(moved.status, 200);
  assert.equal(moved.body.recurringEventId, "series001");
  assert.equal(
    Date.parse(moved.body.originalStartTime.dateTime),
    Date.parse("2026-03-30T07:00:00Z"),
  );
  const deleted = await call(emulator, token, "DELETE", `${BASE}/series001_20260406T070000Z`);
  assert.equal(deleted.status, 204);
  const after = await call(emulator, token, "GET", `${BASE}?singleEvents=true&orderBy=startTime`);
  assert.deepEqual(after.body.items.map((e: LooseJson) => e.start.dateTime), [
    "2026-03-23T08:00:00Z",
    "2026-03-30T09:00:00Z",
    "2026-04-13T07:00:00Z",
  ]);
  const master = await call(emulator, token, "GET", `${BASE}/series001`);
  assert.deepEqual(master.body.recurrence, ["RRULE:FREQ=WEEKLY;COUNT=4"]);
  assert.equal(
    (await call(emulator, token, "GET", `${BASE}/series001_20260331T070000Z`)).status,
    404,
    "not an occurrence",
  );
});

Deno.test("emulator: a recurring event needs start.timeZone", async () => {
  const { emulator, token } = await setup();
  const res = await call(emulator, token, "POST", BASE, {
    summary: "x",
    start: { dateTime: "2026-03-23T09:00:00Z" },
    end: { dateTime: "2026-03-23T10:00:00Z" },
    recurrence: ["RRULE:FREQ=DAILY"],
  });
  assert.equal(res.status, 400);
  const bad = await call(emulator, token, "POST", BASE, {
    ...dentist,
    recurrence: ["RRULE:FREQ=SOMETIMES"],
  });
  assert.equal(bad.status, 400);
});

Deno.test("emulator: writes need calendar.events or calendar; calendar.events.readonly is refused", async () => {
  const { emulator, token } = await setup(
    "https://www.googleapis.com/auth/calendar.events.readonly",
  );
  const res = await call(emulator, token, "POST", BASE, dentist);
  assert.equal(res.status, 403);
  assert.equal(res.body.error.errors[0].reason, "insufficientPermissions");
  assert.equal(res.body.error.details[0].metadata.method, "calendar.v3.Events.Insert");
  assert.equal((await call(emulator, token, "GET", BASE)).status, 200);
});

Deno.test("emulator: calendarList.get and calendars.get give the primary calendar's time zone", async () => {
  const { emulator, token } = await setup("https://www.googleapis.com/auth/calendar.readonly");
  await controlCall(emulator, "calendar/settings", { email: TEST_EMAIL, timeZone: "Asia/Tokyo" });
  const entry = await call(emulator, token, "GET", "/calendar/v3/users/me/calendarList/primary");
  assert.equal(entry.status, 200);
  assert.equal(entry.body.timeZone, "Asia/Tokyo");
  assert.equal(entry.body.primary, true);
  assert.equal(entry.body.id, TEST_EMAIL);
  const cal = await call(emulator, token, "GET", "/calendar/v3/calendars/primary");
  assert.equal(cal.body.timeZone, "Asia/Tokyo");
  assert.equal(
    (await call(emulator, token, "GET", "/calendar/v3/calendars/other@example.com")).status,
    404,
  );
  const eventsOnly = await setup();
  const refused = await call(
    eventsOnly.emulator,
    eventsOnly.token,
    "GET",
    "/calendar/v3/calendars/primary",
  );
  assert.equal(refused.status, 403, "calendars.get is not covered by calendar.events");
  const setting = await call(emulator, token, "GET", "/calendar/v3/users/me/settings/timezone");
  assert.deepEqual([setting.status, setting.body.value], [200, "Asia/Tokyo"]);
  assert.equal(
    (await call(emulator, token, "GET", "/calendar/v3/users/me/settings/nothing")).status,
    404,
  );
  const list = await call(eventsOnly.emulator, eventsOnly.token, "GET", BASE);
  assert.equal(
    list.body.timeZone,
    "UTC",
    "a calendar.events grant reads the zone from events.list",
  );
});

Deno.test("emulator: another client's writes (controls) change etags and show in the API", async () => {
  const { emulator, token } = await setup();
  const made = await controlCall(emulator, "calendar/events", {
    email: TEST_EMAIL,
    event: {
      ...dentist,
      id: "invite001",
      organizer: { email: "bob@example.org", displayName: "Bob" },
      attendees: [{ email: TEST_EMAIL }, { email: "bob@example.org", responseStatus: "accepted" }],
    },
  });
  assert.equal(made.status, 200);
  const got = await call(emulator, token, "GET", `${BASE}/invite001`);
  assert.equal(got.body.organizer.email, "bob@example.org");
  assert.equal(got.body.organizer.self, undefined);
  const self = got.body.attendees.find((a: LooseJson) => a.self === true);
  assert.equal(self.responseStatus, "needsAction");
  const patched = await controlCall(emulator, "calendar/events/patch", {
    email: TEST_EMAIL,
    eventId: "invite001",
    patch: { summary: "Dentist (moved)" },
  });
  assert.equal(patched.status, 200);
  const after = await call(emulator, token, "GET", `${BASE}/invite001`);
  assert.equal(after.body.summary, "Dentist (moved)");
  assert.notEqual(after.body.etag, got.body.etag);
  const removed = await controlCall(emulator, "calendar/events/delete", {
    email: TEST_EMAIL,
    eventId: "invite001",
  });
  assert.equal(removed.status, 200);
  const again = await controlCall(emulator, "calendar/events/delete", {
    email: TEST_EMAIL,
    eventId: "invite001",
  });
  assert.equal(again.status, 410);
});

Deno.test("emulator: a quota fault aimed at events.insert refuses the next N inserts with Google's body, lists pass", async () => {
  const { emulator, token } = await setup();
  const queued = await controlCall(emulator, "faults", {
    endpoint: "events",
    kind: "rateLimitExceeded",
    method: "calendar.v3.Events.Insert",
    count: 2,
  });
  assert.equal(queued.status, 200);
  assert.equal((await call(emulator, token, "GET", BASE)).status, 200, "list is not aimed at");
  for (let i = 0; i < 2; i++) {
    const refused = await call(emulator, token, "POST", BASE, dentist);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.errors[0].reason, "rateLimitExceeded");
    assert.equal(refused.body.error.errors[0].domain, "usageLimits");
  }
  assert.equal((await call(emulator, token, "POST", BASE, dentist)).status, 200);
  await controlCall(emulator, "faults", { endpoint: "events", kind: "429" });
  const limited = await call(emulator, token, "PATCH", `${BASE}/whatever01`, {});
  assert.equal(limited.status, 429, "without method, any Calendar call");
  const wrong = await controlCall(emulator, "faults", {
    endpoint: "token",
    kind: "500",
    method: "calendar.v3.Events.Insert",
  });
  assert.equal(wrong.status, 400);
});
