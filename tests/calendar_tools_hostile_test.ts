/**
 * Hostile and careless input to the calendar tools, over real HTTP: each is refused with a clear
 * code (and the field it is about), and none reaches Google (the emulator counts its calls).
 */

import assert from "node:assert/strict";
import { connectedUser, stack } from "./support/stack.ts";
import { BOT_KEY, callTool, googleApiCalls } from "./support/calendar_tools.ts";

type Row = [label: string, tool: string, input: unknown, code: string, field?: string];

const T0 = "2026-03-30T09:00:00+02:00";
const T1 = "2026-03-30T10:00:00+02:00";
const ok = { request_id: "req-hostile-1", summary: "Dentist", start: T0, end: T1 };

const ROWS: Row[] = [
  [
    "no request_id",
    "create_event",
    { summary: "x", start: T0, end: T1 },
    "invalid_input",
    "request_id",
  ],
  [
    "request_id too short",
    "create_event",
    { ...ok, request_id: "abc" },
    "invalid_input",
    "request_id",
  ],
  [
    "request_id with spaces",
    "create_event",
    { ...ok, request_id: "a b c d e f g h" },
    "invalid_input",
    "request_id",
  ],
  ["summary a number", "create_event", { ...ok, summary: 42 }, "invalid_input", "summary"],
  ["summary blank", "create_event", { ...ok, summary: "   " }, "invalid_input", "summary"],
  [
    "summary 2000 chars",
    "create_event",
    { ...ok, summary: "x".repeat(2000) },
    "invalid_input",
    "summary",
  ],
  [
    "description 10 kB",
    "create_event",
    { ...ok, description: "x".repeat(10_000) },
    "invalid_input",
    "description",
  ],
  [
    "location 2000 chars",
    "create_event",
    { ...ok, location: "x".repeat(2000) },
    "invalid_input",
    "location",
  ],
  ["start in words", "create_event", { ...ok, start: "tomorrow 9am" }, "invalid_input", "start"],
  [
    "start with a space",
    "create_event",
    { ...ok, start: "2026-03-30 09:00" },
    "invalid_input",
    "start",
  ],
  [
    "start on 30 February",
    "create_event",
    { ...ok, start: "2026-02-30T09:00:00Z" },
    "invalid_input",
    "start",
  ],
  [
    "start at 25:00",
    "create_event",
    { ...ok, start: "2026-03-30T25:00:00Z" },
    "invalid_input",
    "start",
  ],
  [
    "local start, no zone",
    "create_event",
    { ...ok, start: "2026-03-30T09:00", end: "2026-03-30T10:00" },
    "invalid_input",
    "start",
  ],
  [
    "unknown time zone",
    "create_event",
    { ...ok, time_zone: "Mars/Olympus_Mons" },
    "invalid_input",
    "time_zone",
  ],
  [
    "offset as a zone",
    "create_event",
    { ...ok, time_zone: "+02:00" },
    "invalid_input",
    "time_zone",
  ],
  [
    "end before start",
    "create_event",
    { ...ok, end: "2026-03-30T08:00:00+02:00" },
    "invalid_time_range",
    "end",
  ],
  ["end equal to start", "create_event", { ...ok, end: T0 }, "invalid_time_range", "end"],
  [
    "an event of two years",
    "create_event",
    { ...ok, end: "2028-03-30T10:00:00+02:00" },
    "invalid_time_range",
    "end",
  ],
  [
    "start without end",
    "create_event",
    { request_id: "req-hostile-1", summary: "x", start: T0 },
    "invalid_input",
    "end",
  ],
  [
    "no time at all",
    "create_event",
    { request_id: "req-hostile-1", summary: "x" },
    "invalid_input",
    "start",
  ],
  [
    "month 13",
    "create_event",
    { request_id: "req-hostile-1", summary: "x", start_date: "2026-13-01" },
    "invalid_input",
    "start_date",
  ],
  [
    "dates and times both",
    "create_event",
    { ...ok, start_date: "2026-03-30" },
    "invalid_input",
    "start",
  ],
  [
    "end_date before start_date",
    "create_event",
    { request_id: "req-hostile-1", summary: "x", start_date: "2026-03-30", end_date: "2026-03-29" },
    "invalid_time_range",
    "end_date",
  ],
  [
    "300 attendees",
    "create_event",
    { ...ok, attendees: Array.from({ length: 300 }, (_, i) => `p${i}@example.com`) },
    "invalid_input",
    "attendees",
  ],
  [
    "attendee not an email",
    "create_event",
    { ...ok, attendees: ["not-an-email"] },
    "invalid_input",
    "attendees.0",
  ],
  [
    "attendees a string",
    "create_event",
    { ...ok, attendees: "a@example.com" },
    "invalid_input",
    "attendees",
  ],
  [
    "recurrence without RRULE:",
    "create_event",
    { ...ok, recurrence: ["FREQ=WEEKLY"] },
    "invalid_input",
    "recurrence.0",
  ],
  [
    "recurring timed event, no zone",
    "create_event",
    { ...ok, recurrence: ["RRULE:FREQ=WEEKLY"] },
    "invalid_input",
    "time_zone",
  ],
  [
    "negative reminder",
    "create_event",
    { ...ok, reminder_minutes: [-5] },
    "invalid_input",
    "reminder_minutes.0",
  ],
  [
    "user_id as a tool argument",
    "create_event",
    { ...ok, user_id: crypto.randomUUID() },
    "invalid_input",
    "user_id",
  ],
  ["unknown field", "create_event", { ...ok, colour: "red" }, "invalid_input", "colour"],
  [
    "send_updates everyone",
    "create_event",
    { ...ok, send_updates: "everyone" },
    "invalid_input",
    "send_updates",
  ],
  [
    "add_meet_link a string",
    "create_event",
    { ...ok, add_meet_link: "yes" },
    "invalid_input",
    "add_meet_link",
  ],
  [
    "time_max before time_min",
    "list_events",
    { time_min: T1, time_max: T0 },
    "invalid_time_range",
    "time_max",
  ],
  [
    "a listing of two years",
    "list_events",
    { time_min: T0, time_max: "2028-03-30T09:00:00Z" },
    "invalid_time_range",
    "time_max",
  ],
  ["max_results 0", "list_events", { max_results: 0 }, "invalid_input", "max_results"],
  ["max_results 1000", "list_events", { max_results: 1000 }, "invalid_input", "max_results"],
  ["max_results 2.5", "list_events", { max_results: 2.5 }, "invalid_input", "max_results"],
  ["query of 500 chars", "list_events", { query: "q".repeat(500) }, "invalid_input", "query"],
  [
    "calendar_id a path",
    "list_events",
    { calendar_id: "../../etc/passwd" },
    "invalid_input",
    "calendar_id",
  ],
  ["time_min a bare date", "list_events", { time_min: "2026-03-30" }, "invalid_input", "time_min"],
  ["empty event_id", "get_event", { event_id: "" }, "invalid_input", "event_id"],
  ["event_id with a slash", "get_event", { event_id: "abc/../def" }, "invalid_input", "event_id"],
  [
    "event_id of 2000 chars",
    "get_event",
    { event_id: "a".repeat(2000) },
    "invalid_input",
    "event_id",
  ],
  ["no event_id", "get_event", {}, "invalid_input", "event_id"],
  [
    "update with nothing to change",
    "update_event",
    { event_id: "abcdef" },
    "invalid_input",
    "summary",
  ],
  [
    "etag with a space",
    "update_event",
    { event_id: "abcdef", summary: "x", if_etag: '"1 2"' },
    "invalid_input",
    "if_etag",
  ],
  [
    "update end before start",
    "update_event",
    { event_id: "abcdef", start: T1, end: T0 },
    "invalid_time_range",
    "end",
  ],
  [
    "delete send_updates null",
    "delete_event",
    { event_id: "abcdef", send_updates: null },
    "invalid_input",
    "send_updates",
  ],
  [
    "respond maybe",
    "respond_to_event",
    { event_id: "abcdef", response: "maybe" },
    "invalid_input",
    "response",
  ],
  [
    "free slots of 0 minutes",
    "find_free_slots",
    { duration_minutes: 0, first_day: "2026-03-30", last_day: "2026-03-31" },
    "invalid_input",
    "duration_minutes",
  ],
  [
    "last_day before first_day",
    "find_free_slots",
    { duration_minutes: 30, first_day: "2026-03-30", last_day: "2026-03-20" },
    "invalid_time_range",
    "last_day",
  ],
  [
    "60 days of slots",
    "find_free_slots",
    { duration_minutes: 30, first_day: "2026-03-01", last_day: "2026-04-30" },
    "invalid_time_range",
    "last_day",
  ],
  [
    "working hours backwards",
    "find_free_slots",
    {
      duration_minutes: 30,
      first_day: "2026-03-30",
      last_day: "2026-03-30",
      working_hours_start: "18:00",
      working_hours_end: "09:00",
    },
    "invalid_time_range",
    "working_hours_end",
  ],
  [
    "weekday 0",
    "find_free_slots",
    { duration_minutes: 30, first_day: "2026-03-30", last_day: "2026-03-30", working_days: [0] },
    "invalid_input",
    "working_days.0",
  ],
  [
    "hours as 9am",
    "find_free_slots",
    {
      duration_minutes: 30,
      first_day: "2026-03-30",
      last_day: "2026-03-30",
      working_hours_start: "9am",
    },
    "invalid_input",
    "working_hours_start",
  ],
  [
    "context with an argument",
    "get_calendar_context",
    { user_id: "someone" },
    "invalid_input",
    "user_id",
  ],
  ["input an array", "list_events", [1, 2], "invalid_input", "input"],
  ["input a string", "list_events", "all of them", "invalid_input", "input"],
  ["unknown tool", "drop_calendar", {}, "unknown_tool"],
];

Deno.test(`calendar-tools: ${ROWS.length} hostile inputs, each a clear error, none reaching Google`, async () => {
  assert.ok(ROWS.length >= 40);
  const { user } = await connectedUser("hostile");
  const before = await googleApiCalls();
  for (const [label, tool, input, code, field] of ROWS) {
    const { status, body } = await callTool(user.id, tool, input);
    assert.equal(body.code, code, `${label}: ${JSON.stringify(body)}`);
    assert.ok(status === 400 || status === 404, `${label}: status ${status}`);
    assert.equal(typeof body.message, "string", label);
    assert.ok((body.message as string).length <= 300, `${label}: a one-line message`);
    if (field) assert.equal(body.field, field, `${label}: names ${field}: ${body.message}`);
  }
  assert.equal(await googleApiCalls(), before, "no Calendar API call was made");
});

Deno.test("calendar-tools: a 1 MB description is refused as too large before anything is read", async () => {
  const { user } = await connectedUser("hostile-big");
  const before = await googleApiCalls();
  const res = await fetch(`${stack.functions_url}/calendar-tools`, {
    method: "POST",
    headers: { authorization: `Bearer ${BOT_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({
      user_id: user.id,
      tool: "create_event",
      input: { ...ok, description: "x".repeat(1024 * 1024) },
    }),
  });
  const body = await res.json();
  assert.deepEqual([res.status, body.code], [413, "payload_too_large"]);
  assert.equal(await googleApiCalls(), before);
});

Deno.test("calendar-tools: no caller, or a user's token for someone else, is refused", async () => {
  const res = await fetch(`${stack.functions_url}/calendar-tools`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_id: crypto.randomUUID(), tool: "list_events", input: {} }),
  });
  assert.equal(res.status, 401);
  await res.body?.cancel();
});

Deno.test("calendar-mcp: a JSON-RPC batch is refused whole, so one request is one tool call", async () => {
  const { user } = await connectedUser("hostile-batch");
  const before = await googleApiCalls();
  const call = (id: number) => ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "get_calendar_context", arguments: {} },
  });
  const res = await fetch(`${stack.functions_url}/calendar-mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${BOT_KEY}`,
      "x-user-id": user.id,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify(Array.from({ length: 50 }, (_, i) => call(i + 1))),
  });
  const text = await res.text();
  assert.equal(res.status, 400, text.slice(0, 300));
  assert.equal(JSON.parse(text).code, "invalid_request", text.slice(0, 300));
  assert.equal(await googleApiCalls(), before, "no Calendar API call was made");
});
