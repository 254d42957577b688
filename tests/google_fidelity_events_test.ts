/**
 * Issue 16, item 7, over real HTTP: events.list as Google really answers it. Short pages with
 * `nextPageToken`, all-day events (`start.date`), untitled events, and out-of-office,
 * working-location and birthday entries. calendar-upcoming follows the pages up to max_results,
 * asks only for the event types a secretary talks about, and says which events are all-day.
 * The page cap is restored in `finally`: the tests share one stack.
 */

import assert from "node:assert/strict";
import {
  callAsService,
  client,
  connectedUser,
  emulatorControl,
  stack,
  type TestUser,
} from "./support/stack.ts";

const HOUR_MS = 3600_000;

interface Upcoming {
  id: string | null;
  summary: string | null;
  all_day: boolean;
  start: string | null;
  end: string | null;
}

/** Midnight UTC two days from now: every seeded event is safely in the future. */
function baseDay(): Date {
  const day = new Date(Date.now() + 2 * 24 * HOUR_MS);
  day.setUTCHours(0, 0, 0, 0);
  return day;
}

const dateOf = (d: Date) => d.toISOString().slice(0, 10);
const at = (base: Date, hours: number) => new Date(base.getTime() + hours * HOUR_MS);
const timed = (base: Date, from: number, to: number) => ({
  start: { dateTime: at(base, from).toISOString() },
  end: { dateTime: at(base, to).toISOString() },
});
const allDay = (base: Date) => ({
  start: { date: dateOf(base) },
  end: { date: dateOf(at(base, 24)) },
});

/** A connected user whose calendar holds exactly the seeded events, interleaved by kind. */
async function seededUser(): Promise<{ user: TestUser; base: Date }> {
  const { user, google } = await connectedUser("events");
  const base = baseDay();
  const [since] = await client.sql("select now()");
  await fetch(
    `${stack.google_emulator_url}/__emulator/events?email=${encodeURIComponent(google)}`,
    { method: "DELETE" },
  ).then((res) => res.body?.cancel());
  await emulatorControl("events", {
    email: google,
    items: [
      { id: "offsite", summary: "Offsite", ...allDay(base) },
      { id: "bday", summary: "Ada's birthday", eventType: "birthday", ...allDay(base) },
      { id: "office", summary: "Office", eventType: "workingLocation", ...allDay(base) },
      { id: "ooo", summary: "Out of office", eventType: "outOfOffice", ...timed(base, 8, 12) },
      { id: "standup", summary: "Standup", ...timed(base, 9, 9.25) },
      { id: "untitled", ...timed(base, 10, 10.5) },
      { id: "focus", summary: "Deep work", eventType: "focusTime", ...timed(base, 11, 12) },
      { id: "flight", summary: "Flight", eventType: "fromGmail", ...timed(base, 13, 15) },
      { id: "dinner", summary: "Dinner", ...timed(base, 19, 21) },
    ],
  });
  // The seeding pushes to the user's channel: let its sync finish before Google calls are counted.
  await client.calendarQuiet(user.id, since!);
  return { user, base };
}

/** What a secretary is told about, in start order: not birthdays, working places or OOO. */
const EXPECTED_IDS = ["offsite", "standup", "untitled", "focus", "flight", "dinner"];

async function upcoming(userId: string, max: number): Promise<Upcoming[]> {
  const res = await callAsService("calendar-upcoming", {
    query: { user_id: userId, max_results: String(max) },
  });
  const body = await res.json();
  assert.equal(res.status, 200, `calendar-upcoming answered ${body.code}`);
  return body.events;
}

async function eventsCalls(): Promise<number> {
  const stats = await client.stats() as unknown as { eventsCalls: { ok: number; error: number } };
  return stats.eventsCalls.ok + stats.eventsCalls.error;
}

/** Runs `body` with Google's pages at most `cap` events long, then puts the cap back. */
async function withPageCap(cap: number, body: () => Promise<void>): Promise<void> {
  const { eventsPageCap } = await emulatorControl("config", {}) as { eventsPageCap: number };
  try {
    await emulatorControl("config", { eventsPageCap: cap });
    await body();
  } finally {
    await emulatorControl("config", { eventsPageCap });
  }
}

Deno.test("calendar-upcoming follows short pages: exactly max_results events, in order, and no more pages than needed", async () => {
  const { user } = await seededUser();
  await withPageCap(2, async () => {
    for (const max of [1, 3, 4, 5]) {
      const before = await eventsCalls();
      const events = await upcoming(user.id, max);
      assert.deepEqual(events.map((e) => e.id), EXPECTED_IDS.slice(0, max), `max_results=${max}`);
      assert.equal(await eventsCalls() - before, Math.ceil(max / 2), `pages for ${max}`);
    }
    // More asked than there are: every page is read, and all of them come back once.
    const all = await upcoming(user.id, 50);
    assert.deepEqual(all.map((e) => e.id), EXPECTED_IDS);
  });
});

Deno.test("calendar-upcoming: all-day events say so with their dates; untitled events have summary null; other types are left out", async () => {
  const { user, base } = await seededUser();
  const events = await upcoming(user.id, 50);
  const byId = new Map(events.map((e) => [e.id, e]));
  assert.deepEqual(byId.get("offsite"), {
    id: "offsite",
    summary: "Offsite",
    all_day: true,
    start: dateOf(base),
    end: dateOf(at(base, 24)),
  });
  const untitled = byId.get("untitled")!;
  assert.equal(untitled.summary, null);
  assert.equal(untitled.all_day, false);
  assert.equal(Date.parse(untitled.start!), at(base, 10).getTime());
  assert.equal(byId.get("standup")?.all_day, false);
  for (const id of ["bday", "office", "ooo"]) {
    assert.ok(!byId.has(id), `${id} is not a meeting: left out`);
  }
  // Focus time and events from Gmail (flights, bookings) are kept.
  assert.ok(byId.has("focus") && byId.has("flight"));
});
