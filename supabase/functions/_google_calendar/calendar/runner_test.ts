import assert from "node:assert/strict";
import { isAppError } from "../errors.ts";
import { CALENDAR_WRITE_SCOPES } from "../google_facts.ts";
import { createToolRunner } from "./runner.ts";

const USER = "6f1c0d8e-1b2a-4c3d-8e9f-0a1b2c3d4e5f";

/** A runner over a stand-in Google that answers `answer` and records every call. */
function runnerWith(
  answer: (req: Request) => Response,
  scopes = ["https://www.googleapis.com/auth/calendar.events"],
  tokenFields: { expiresAt?: Date; googleEmail?: string | null } = {},
) {
  const calls: Request[] = [];
  let tokenReads = 0;
  const token = {
    accessToken: "at",
    expiresAt: new Date(Date.now() + 3600_000),
    scopes,
    googleEmail: "ana@example.com" as string | null,
    ...tokenFields,
  };
  const run = createToolRunner({
    accessTokens: {
      getGoogleAccessToken: () => {
        tokenReads++;
        return Promise.resolve(token);
      },
      renew: () => Promise.resolve(token),
    },
    apiBaseUrl: "https://www.googleapis.com",
    timeoutMs: 1000,
    fetch: (input, init) => {
      const req = new Request(input, init);
      calls.push(req);
      return Promise.resolve(answer(req));
    },
    now: () => new Date("2026-03-30T06:30:00Z"),
  });
  return { run, calls, tokenReads: () => tokenReads };
}

Deno.test("runner: get_calendar_context reads the zone from events.list and says now there", async () => {
  const { run, calls } = runnerWith(() => Response.json({ items: [], timeZone: "Europe/Paris" }));
  const out = await run(USER, "get_calendar_context", {}) as Record<string, unknown>;
  assert.deepEqual(out, {
    time_zone: "Europe/Paris",
    now: "2026-03-30T08:30:00+02:00",
    today: "2026-03-30",
    weekday: "Monday",
    google_email: "ana@example.com",
    calendar_id: "primary",
    granted_scopes: ["calendar.events"],
    free_busy_available: false,
  });
  assert.equal(calls.length, 1);
});

Deno.test("runner: a create is sent with a derived id, and a 409 answers the existing event", async () => {
  let first = true;
  const { run, calls, tokenReads } = runnerWith((req) => {
    if (req.method === "POST") {
      if (first) {
        first = false;
        return Response.json({ id: "x", status: "confirmed", etag: '"1"' });
      }
      return Response.json({ error: { code: 409, message: "duplicate" } }, { status: 409 });
    }
    return Response.json({ id: "x", status: "confirmed", etag: '"1"' });
  });
  const input = {
    request_id: "msg-000001",
    summary: "Dentist",
    start: "2026-03-30T09:00",
    end: "2026-03-30T10:00",
    time_zone: "Europe/Paris",
  };
  const a = await run(USER, "create_event", input) as { already_existed: boolean };
  const b = await run(USER, "create_event", input) as { already_existed: boolean };
  assert.deepEqual([a.already_existed, b.already_existed], [false, true]);
  const sent = await calls[0]!.clone().json();
  assert.match(sent.id, /^[a-v0-9]{32}$/);
  assert.deepEqual(sent.start, { dateTime: "2026-03-30T09:00:00+02:00", timeZone: "Europe/Paris" });
  assert.equal((await calls[1]!.clone().json()).id, sent.id, "the retry asks for the same id");
  assert.equal(calls[2]!.method, "GET");
  assert.equal(tokenReads(), 2, "one token read per tool call");
});

Deno.test("runner: bad input reads no token and calls no Google", async () => {
  const { run, calls, tokenReads } = runnerWith(() => Response.json({}));
  await assert.rejects(
    run(USER, "list_events", { max_results: "ten" }),
    (e) => isAppError(e, "invalid_input") && e.details?.field === "max_results",
  );
  assert.deepEqual([calls.length, tokenReads()], [0, 0]);
});

Deno.test("runner: a stale etag is calendar_conflict; a second delete is already_deleted", async () => {
  const { run } = runnerWith((req) =>
    req.method === "PATCH"
      ? new Response(JSON.stringify({ error: { code: 412 } }), { status: 412 })
      : new Response(null, { status: 410 })
  );
  await assert.rejects(
    run(USER, "update_event", { event_id: "abc123", summary: "x", if_etag: '"1"' }),
    (e) => isAppError(e, "calendar_conflict"),
  );
  assert.deepEqual(await run(USER, "delete_event", { event_id: "abc123" }), {
    event_id: "abc123",
    deleted: true,
    already_deleted: true,
  });
});

Deno.test("runner: respond_to_event changes only the user's own answer, with If-Match", async () => {
  const event = {
    id: "inv1",
    etag: '"7"',
    attendees: [
      { email: "boss@example.com", organizer: true, responseStatus: "accepted" },
      { email: "ana@example.com", self: true, responseStatus: "needsAction" },
    ],
  };
  const { run, calls } = runnerWith(() => Response.json(event));
  await run(USER, "respond_to_event", { event_id: "inv1", response: "declined" });
  const patch = calls[1]!;
  assert.equal(patch.headers.get("if-match"), '"7"');
  assert.deepEqual(
    (await patch.json()).attendees.map((a: { responseStatus: string }) => a.responseStatus),
    [
      "accepted",
      "declined",
    ],
  );
});

Deno.test("runner: a grant without the tool's scope is google_scope_missing, before any Google call", async () => {
  const { run, calls } = runnerWith(
    () => Response.json({}),
    ["https://www.googleapis.com/auth/calendar.events.readonly"],
  );
  await assert.rejects(
    run(USER, "delete_event", { event_id: "abc123" }),
    (e) =>
      isAppError(e, "google_scope_missing") &&
      JSON.stringify(e.details?.needed_scopes) === JSON.stringify([CALENDAR_WRITE_SCOPES[0]]),
  );
  assert.equal(calls.length, 0);
});

Deno.test("runner: a token about to expire is read again before the Google call", async () => {
  const answer = () => Response.json({ id: "abc123", status: "confirmed" });
  const soon = runnerWith(answer, undefined, { expiresAt: new Date(Date.now() + 30_000) });
  await soon.run(USER, "get_event", { event_id: "abc123" });
  assert.equal(soon.tokenReads(), 2, "the scope check's read, then a fresh one for the call");
  const later = runnerWith(answer);
  await later.run(USER, "get_event", { event_id: "abc123" });
  assert.equal(later.tokenReads(), 1, "a token with life left is used as read");
});

Deno.test("runner: no input at all (an MCP call without arguments) is an empty object", async () => {
  const { run } = runnerWith(() => Response.json({ items: [], timeZone: "Europe/Paris" }));
  const out = await run(USER, "get_calendar_context", undefined) as { time_zone: string };
  assert.equal(out.time_zone, "Europe/Paris");
});

Deno.test("runner: Google's 410 is event_not_found; a 403 that is no scope or rate is calendar_access_denied", async () => {
  const gone = runnerWith(() => Response.json({ error: { code: 410 } }, { status: 410 }));
  await assert.rejects(
    gone.run(USER, "get_event", { event_id: "abc123" }),
    (e) => isAppError(e, "event_not_found"),
  );
  const denied = runnerWith(() =>
    Response.json({
      error: { code: 403, message: "Forbidden", errors: [{ reason: "forbidden" }] },
    }, { status: 403 })
  );
  await assert.rejects(
    denied.run(USER, "update_event", { event_id: "abc123", summary: "x" }),
    (e) => isAppError(e, "calendar_access_denied"),
  );
});

Deno.test("runner: list_events asks Google for the caller's zone and the secretary's event types", async () => {
  const { run, calls } = runnerWith(() =>
    Response.json({
      timeZone: "Europe/Paris",
      items: [{ id: "e1", start: { dateTime: "2026-03-30T03:00:00-04:00" } }],
    })
  );
  const out = await run(USER, "list_events", { time_zone: "America/New_York" }) as {
    time_zone: string;
    events: { time_zone?: string }[];
  };
  const url = new URL(calls[0]!.url);
  assert.equal(url.searchParams.get("timeZone"), "America/New_York");
  assert.deepEqual(url.searchParams.getAll("eventTypes"), ["default", "focusTime", "fromGmail"]);
  assert.equal(out.time_zone, "America/New_York", "the zone asked for, not the calendar's");
  assert.equal(out.events[0]!.time_zone, "America/New_York");
});

Deno.test("runner: empty or over-long ranges are invalid_time_range and reach no Google", async () => {
  const { run, calls } = runnerWith(() => Response.json({}));
  const refused = async (tool: string, input: Record<string, unknown>, field: string) =>
    await assert.rejects(
      run(USER, tool, input),
      (e) => isAppError(e, "invalid_time_range") && e.details?.field === field,
      `${tool} ${JSON.stringify(input)}`,
    );
  const slots = { duration_minutes: 30, first_day: "2026-03-01", last_day: "2026-03-05" };
  // 31 days searched at most (the error says so): 2026-03-01 to 2026-03-31.
  await refused("find_free_slots", { ...slots, last_day: "2026-04-01" }, "last_day");
  await refused(
    "find_free_slots",
    { ...slots, working_hours_start: "09:00", working_hours_end: "09:00" },
    "working_hours_end",
  );
  await refused(
    "create_event",
    { request_id: "msg-000002", summary: "Off", start_date: "2026-03-30", end_date: "2026-03-30" },
    "end_date",
  );
  await refused(
    "create_event",
    { request_id: "msg-000003", summary: "Trip", start_date: "2026-01-01", end_date: "2027-01-03" },
    "end_date",
  );
  assert.equal(calls.length, 0);
});

Deno.test("runner: free slots from events skip free, cancelled and declined ones; all-day is the zone's day", async () => {
  const LA = "America/Los_Angeles";
  const allMonday = {
    start: { dateTime: "2026-03-30T09:00:00-07:00" },
    end: { dateTime: "2026-03-30T18:00:00-07:00" },
  };
  const { run, calls } = runnerWith(() =>
    Response.json({
      timeZone: LA,
      items: [
        { id: "free", transparency: "transparent", ...allMonday },
        { id: "cancelled", status: "cancelled", ...allMonday },
        {
          id: "declined",
          attendees: [{ email: "ana@example.com", self: true, responseStatus: "declined" }],
          ...allMonday,
        },
        { id: "holiday", start: { date: "2026-03-31" }, end: { date: "2026-04-01" } },
      ],
    })
  );
  const out = await run(USER, "find_free_slots", {
    duration_minutes: 60,
    first_day: "2026-03-30",
    last_day: "2026-03-31",
    time_zone: LA,
  }) as { source: string; slots: { start: string; end: string }[] };
  assert.equal(out.source, "events");
  assert.ok(!calls.some((c) => c.url.includes("freeBusy")));
  // Monday is free all day; Tuesday's all-day event fills Tuesday in Los Angeles, not in UTC.
  assert.deepEqual(out.slots.map((s) => [s.start, s.end]), [
    ["2026-03-30T09:00:00-07:00", "2026-03-30T18:00:00-07:00"],
  ]);
});

Deno.test("runner: a free/busy answer with errors for the calendar is event_not_found", async () => {
  const { run } = runnerWith(
    () => Response.json({ calendars: { primary: { errors: [{ reason: "notFound" }], busy: [] } } }),
    [
      "https://www.googleapis.com/auth/calendar.events",
      "https://www.googleapis.com/auth/calendar.events.freebusy",
    ],
  );
  await assert.rejects(
    run(USER, "find_free_slots", {
      duration_minutes: 30,
      first_day: "2026-03-30",
      last_day: "2026-03-30",
      time_zone: "Europe/Paris",
    }),
    (e) => isAppError(e, "event_not_found"),
  );
});

Deno.test("runner: respond_to_event finds the user by Google's self flag when the address is unknown", async () => {
  const event = {
    id: "inv2",
    etag: '"3"',
    attendees: [
      { email: "boss@example.com", organizer: true, responseStatus: "accepted" },
      { email: "ana.alias@example.com", self: true, responseStatus: "needsAction" },
    ],
  };
  const { run, calls } = runnerWith(() => Response.json(event), undefined, { googleEmail: null });
  await run(USER, "respond_to_event", { event_id: "inv2", response: "tentative" });
  assert.deepEqual(
    (await calls[1]!.json()).attendees.map((a: { responseStatus: string }) => a.responseStatus),
    ["accepted", "tentative"],
  );
});

Deno.test("runner: an event shown as free says busy: false", async () => {
  const { run } = runnerWith(() =>
    Response.json({ id: "e2", status: "confirmed", transparency: "transparent" })
  );
  const out = await run(USER, "get_event", { event_id: "e2" }) as { event: { busy?: boolean } };
  assert.equal(out.event.busy, false);
});

Deno.test("runner: get_event asks Google for the times in the zone given", async () => {
  const { run, calls } = runnerWith(() => Response.json({ id: "e3", status: "confirmed" }));
  await run(USER, "get_event", { event_id: "e3", time_zone: "Asia/Tokyo" });
  assert.equal(new URL(calls[0]!.url).searchParams.get("timeZone"), "Asia/Tokyo");
});
Deno.test("runner: a calendar_id of dots cannot climb out of the calendar's path", async () => {
  for (const calendar of [".", "..", "..."]) {
    const { run, calls, tokenReads } = runnerWith(() => Response.json({}));
    await assert.rejects(
      run(USER, "delete_event", { calendar_id: calendar, event_id: "abc123" }),
      (e: unknown) => isAppError(e, "invalid_input"),
      calendar,
    );
    assert.equal(calls.length, 0, "nothing reaches Google");
    assert.equal(tokenReads(), 0);
  }
});

Deno.test("runner: Google's 400 message and its reasons' free text never reach the caller", async () => {
  const said = "Invalid value for x: ya29.secret-token-echo";
  const { run } = runnerWith(() =>
    Response.json({
      error: { code: 400, message: said, errors: [{ reason: "invalid", message: said }] },
    }, { status: 400 })
  );
  await assert.rejects(
    run(USER, "get_event", { event_id: "abc123" }),
    (e: unknown) => {
      assert.ok(isAppError(e, "invalid_input"));
      assert.ok(!e.message.includes("ya29"), e.message);
      assert.ok(!e.message.includes("Invalid value"), e.message);
      assert.match(e.message, /\(invalid\)/, "the reason code still says what kind");
      return true;
    },
  );
});
