import assert from "node:assert/strict";
import { isAppError } from "../errors.ts";
import { createToolRunner } from "./runner.ts";

const USER = "6f1c0d8e-1b2a-4c3d-8e9f-0a1b2c3d4e5f";

/** A runner over a stand-in Google that answers `answer` and records every call. */
function runnerWith(
  answer: (req: Request) => Response,
  scopes = ["https://www.googleapis.com/auth/calendar.events"],
) {
  const calls: Request[] = [];
  let tokenReads = 0;
  const token = {
    accessToken: "at",
    expiresAt: new Date(Date.now() + 3600_000),
    scopes,
    googleEmail: "ana@example.com",
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
