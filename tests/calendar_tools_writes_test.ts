/**
 * The calendar tools' writes, each over plain HTTP and over MCP, against the emulator's
 * Calendar API: retries that book once, etags that refuse a stale change, deletes that count
 * once, DST-correct local times, all-day events, one occurrence of a series moved, invitations
 * answered, and free slots around a busy morning in the user's time zone.
 */

import assert from "node:assert/strict";
import { Temporal } from "temporal-polyfill";
import {
  callback,
  client,
  connectedUser,
  consent,
  emulatorControl,
  emulatorGet,
} from "./support/stack.ts";
import { type Door, toolCaller } from "./support/calendar_tools.ts";

interface StoredEvent {
  id: string;
  status: string;
  summary?: string;
  etag: string;
  recurringEventId?: string;
  start: { dateTime?: string; date?: string };
}

/** What the emulator holds for `email`: every event, cancelled ones and exceptions included. */
async function stored(email: string): Promise<StoredEvent[]> {
  const qs = new URLSearchParams({ email });
  return ((await emulatorGet(`calendar/events?${qs}`)) as { items: StoredEvent[] }).items;
}

/** A connected user whose calendar is in Europe/Paris, and a tool caller through `door`. */
async function parisUser(door: Door, prefix: string) {
  const { user, google } = await connectedUser(`${prefix}-${door}`);
  await emulatorControl("calendar/settings", { email: google, timeZone: "Europe/Paris" });
  return { user, google, tools: await toolCaller(door, user.id) };
}

/** The Monday at least a week ahead, as a date. */
function nextMonday(): string {
  let day = Temporal.Now.plainDateISO("Europe/Paris").add({ days: 7 });
  while (day.dayOfWeek !== 1) day = day.add({ days: 1 });
  return day.toString();
}

const at = (local: string, zone = "Europe/Paris") =>
  Temporal.PlainDateTime.from(local).toZonedDateTime(zone).epochMilliseconds;

for (const door of ["http", "mcp"] as const) {
  Deno.test(`calendar tools (${door}): the same create_event twice is one event`, async () => {
    const { google, tools } = await parisUser(door, "twice");
    try {
      const input = {
        request_id: "wa-msg-0001",
        summary: "Dentist",
        start: "2026-05-04T15:00",
        end: "2026-05-04T16:00",
        time_zone: "Europe/Paris",
      };
      const first = await tools.call("create_event", input);
      const second = await tools.call("create_event", input);
      assert.equal(first.already_existed, false, JSON.stringify(first));
      assert.equal(second.already_existed, true);
      assert.equal(second.event.id, first.event.id);
      assert.match(first.event.id, /^[a-v0-9]{32}$/);
      assert.deepEqual((await stored(google)).map((e) => e.summary), ["Dentist"], "one event");
    } finally {
      await tools.close();
    }
  });

  Deno.test(`calendar tools (${door}): a stale etag is calendar_conflict and changes nothing`, async () => {
    const { google, tools } = await parisUser(door, "etag");
    try {
      const { event } = await tools.call("create_event", {
        request_id: "wa-msg-0002",
        summary: "Call with Ana",
        start: "2026-05-05T10:00:00+02:00",
        end: "2026-05-05T10:30:00+02:00",
      });
      // Someone else edits it meanwhile (the Calendar app): the bot's etag is now stale.
      await emulatorControl("calendar/events/patch", {
        email: google,
        eventId: event.id,
        patch: { location: "Room 4" },
      });
      const before = await stored(google);
      const answer = await tools.call("update_event", {
        event_id: event.id,
        if_etag: event.etag,
        summary: "Call with Ana (moved)",
        start: "2026-05-05T15:00:00+02:00",
        end: "2026-05-05T15:30:00+02:00",
      });
      assert.equal(answer.error?.code, "calendar_conflict", JSON.stringify(answer));
      assert.deepEqual(await stored(google), before, "nothing changed");
      // With the fresh etag the change goes through, and only the fields given change.
      const fresh = await tools.call("get_event", { event_id: event.id });
      const moved = await tools.call("update_event", {
        event_id: event.id,
        if_etag: fresh.event.etag,
        start: "2026-05-05T15:00:00+02:00",
        end: "2026-05-05T15:30:00+02:00",
      });
      assert.deepEqual(
        [moved.event.summary, moved.event.location, Date.parse(moved.event.start)],
        ["Call with Ana", "Room 4", Date.parse("2026-05-05T13:00:00Z")],
      );
    } finally {
      await tools.close();
    }
  });

  Deno.test(`calendar tools (${door}): a delete done twice is one deletion`, async () => {
    const { google, tools } = await parisUser(door, "delete");
    try {
      const { event } = await tools.call("create_event", {
        request_id: "wa-msg-0003",
        summary: "Cancel me",
        start_date: "2026-05-08",
      });
      const first = await tools.call("delete_event", { event_id: event.id });
      const again = await tools.call("delete_event", { event_id: event.id });
      assert.deepEqual([first.already_deleted, again.already_deleted], [false, true]);
      assert.deepEqual((await stored(google)).map((e) => e.status), ["cancelled"]);
      const missing = await tools.call("delete_event", { event_id: "nosuchevent1" });
      assert.equal(missing.error?.code, "event_not_found");
    } finally {
      await tools.close();
    }
  });

  Deno.test(`calendar tools (${door}): 09:00 Europe/Paris the Monday after the spring change is 07:00Z; all-day by dates`, async () => {
    const { google, tools } = await parisUser(door, "dst");
    try {
      const { event } = await tools.call("create_event", {
        request_id: "wa-msg-0004",
        summary: "Team breakfast",
        start: "2026-03-30T09:00",
        end: "2026-03-30T10:00",
        time_zone: "Europe/Paris",
      });
      assert.equal(Date.parse(event.start), Date.parse("2026-03-30T07:00:00Z"));
      const inUtc = await tools.call("get_event", { event_id: event.id, time_zone: "UTC" });
      assert.equal(Date.parse(inUtc.event.start), Date.parse("2026-03-30T07:00:00Z"));
      const allDay = await tools.call("create_event", {
        request_id: "wa-msg-0005",
        summary: "Holiday",
        start_date: "2026-04-03",
      });
      assert.deepEqual(
        [allDay.event.all_day, allDay.event.start, allDay.event.end],
        [true, "2026-04-03", "2026-04-04"],
      );
      const listed = await tools.call("list_events", {
        time_min: "2026-03-30T00:00",
        time_max: "2026-04-05T00:00",
        time_zone: "Europe/Paris",
      });
      assert.deepEqual(listed.events.map((e: { summary: string }) => e.summary), [
        "Team breakfast",
        "Holiday",
      ]);
      assert.equal(listed.events[0].start, "2026-03-30T09:00:00+02:00", "shown in Paris time");
      const breakfast = (await stored(google)).find((e) => e.summary === "Team breakfast")!;
      assert.equal(Date.parse(breakfast.start.dateTime!), Date.parse("2026-03-30T07:00:00Z"));
    } finally {
      await tools.close();
    }
  });

  Deno.test(`calendar tools (${door}): one occurrence of a weekly series moved, the rest unchanged`, async () => {
    const { tools } = await parisUser(door, "series");
    try {
      const { event: series } = await tools.call("create_event", {
        request_id: "wa-msg-0006",
        summary: "Weekly sync",
        start: "2026-04-06T10:00",
        end: "2026-04-06T11:00",
        time_zone: "Europe/Paris",
        recurrence: ["RRULE:FREQ=WEEKLY;COUNT=4"],
      });
      const range = {
        time_min: "2026-04-06T00:00",
        time_max: "2026-05-04T00:00",
        time_zone: "Europe/Paris",
      };
      const before = (await tools.call("list_events", range)).events;
      assert.equal(before.length, 4);
      assert.ok(
        before.every((e: { recurring_event_id: string }) => e.recurring_event_id === series.id),
      );
      const second = before[1];
      const moved = await tools.call("update_event", {
        event_id: second.id,
        start: "2026-04-13T14:00",
        end: "2026-04-13T15:00",
        time_zone: "Europe/Paris",
      });
      assert.equal(moved.error, undefined, JSON.stringify(moved));
      const after = (await tools.call("list_events", range)).events;
      assert.deepEqual(
        after.map((e: { start: string }) => e.start),
        [
          "2026-04-06T10:00:00+02:00",
          "2026-04-13T14:00:00+02:00",
          "2026-04-20T10:00:00+02:00",
          "2026-04-27T10:00:00+02:00",
        ],
      );
      assert.deepEqual(
        after.map((e: { id: string }) => e.id),
        before.map((e: { id: string }) => e.id),
      );
    } finally {
      await tools.close();
    }
  });

  Deno.test(`calendar tools (${door}): respond_to_event answers on the user's own entry only`, async () => {
    const { google, tools } = await parisUser(door, "rsvp");
    try {
      const invitation = await emulatorControl("calendar/events", {
        email: google,
        event: {
          summary: "Board meeting",
          organizer: { email: "boss@example.com" },
          start: { dateTime: "2026-05-06T09:00:00+02:00" },
          end: { dateTime: "2026-05-06T10:00:00+02:00" },
          attendees: [
            { email: "boss@example.com", responseStatus: "accepted" },
            { email: google },
            { email: "carol@example.com" },
          ],
        },
      }) as { id: string };
      const answer = await tools.call("respond_to_event", {
        event_id: invitation.id,
        response: "declined",
      });
      assert.equal(answer.error, undefined, JSON.stringify(answer));
      const byEmail = new Map(
        answer.event.attendees.map((a: { email: string; response_status: string }) => [
          a.email,
          a.response_status,
        ]),
      );
      assert.deepEqual(
        [byEmail.get("boss@example.com"), byEmail.get(google), byEmail.get("carol@example.com")],
        ["accepted", "declined", "needsAction"],
      );
      const own = await tools.call("create_event", {
        request_id: "wa-msg-0007",
        summary: "Alone",
        start_date: "2026-05-07",
      });
      const notInvited = await tools.call("respond_to_event", {
        event_id: own.event.id,
        response: "accepted",
      });
      assert.equal(notInvited.error?.code, "not_an_attendee");
    } finally {
      await tools.close();
    }
  });

  Deno.test(`calendar tools (${door}): free slots around a busy morning, in the user's time zone`, async () => {
    const { tools } = await parisUser(door, "slots");
    try {
      const monday = nextMonday();
      await tools.call("create_event", {
        request_id: "wa-msg-0008",
        summary: "Busy morning",
        start: `${monday}T09:00`,
        end: `${monday}T12:30`,
        time_zone: "Europe/Paris",
      });
      const input = {
        duration_minutes: 60,
        first_day: monday,
        last_day: monday,
        working_hours_start: "09:00",
        working_hours_end: "17:00",
      };
      const answer = await tools.call("find_free_slots", input);
      assert.equal(answer.error, undefined, JSON.stringify(answer));
      assert.deepEqual([answer.time_zone, answer.source], ["Europe/Paris", "events"]);
      assert.deepEqual(
        answer.slots.map((
          s: { start: string; end: string },
        ) => [Date.parse(s.start), Date.parse(s.end)]),
        [[at(`${monday}T12:30`), at(`${monday}T17:00`)]],
      );
    } finally {
      await tools.close();
    }
  });
}

Deno.test("calendar tools: after an incremental consent for calendar.events.freebusy, free slots come from freebusy", async () => {
  const { user, google } = await connectedUser("slots-freebusy");
  await emulatorControl("calendar/settings", { email: google, timeZone: "Europe/Paris" });
  const { body } = await client.callJson("google-connect", {
    body: { user_id: user.id, scopes: "calendar.events.freebusy" },
  });
  const answer = await callback(await consent(new URL(body.auth_url as string), { email: google }));
  assert.equal(answer.result, "connected");
  const tools = await toolCaller("http", user.id);
  const context = await tools.call("get_calendar_context", {});
  assert.deepEqual(context.granted_scopes, ["calendar.events", "calendar.events.freebusy"]);
  const monday = nextMonday();
  await tools.call("create_event", {
    request_id: "wa-msg-0009",
    summary: "Busy morning",
    start: `${monday}T09:00`,
    end: `${monday}T12:30`,
    time_zone: "Europe/Paris",
  });
  const slots = await tools.call("find_free_slots", {
    duration_minutes: 60,
    first_day: monday,
    last_day: monday,
    working_hours_end: "17:00",
  });
  assert.equal(slots.source, "freebusy", JSON.stringify(slots));
  assert.deepEqual(
    slots.slots.map((s: { start: string }) => Date.parse(s.start)),
    [at(`${monday}T12:30`)],
  );
});

Deno.test("calendar tools: create_event with guests and a Meet link, emailing them", async () => {
  const { user, google } = await connectedUser("meet");
  const tools = await toolCaller("http", user.id);
  const { event } = await tools.call("create_event", {
    request_id: "wa-msg-0010",
    summary: "Intro call",
    start: "2026-05-11T11:00:00+02:00",
    end: "2026-05-11T11:30:00+02:00",
    attendees: ["bob@example.com"],
    add_meet_link: true,
    send_updates: "all",
    reminder_minutes: [10],
  });
  assert.match(event.hangout_link, /^https:\/\/meet\.google\.com\//);
  assert.deepEqual(
    event.attendees.map((
      a: { email: string; response_status: string },
    ) => [a.email, a.response_status]),
    [["bob@example.com", "needsAction"]],
  );
  const qs = new URLSearchParams({ email: google });
  const { notices } = await emulatorGet(`calendar/notices?${qs}`) as {
    notices: { eventId: string; recipients: string[] }[];
  };
  assert.deepEqual(notices.find((n) => n.eventId === event.id)?.recipients, ["bob@example.com"]);
});
