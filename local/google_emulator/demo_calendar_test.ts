import assert from "node:assert/strict";
import { createGoogleEmulator } from "./emulator.ts";
import { parseCliArgs } from "./main.ts";

// A Saturday, 16:00 in Paris: tomorrow is Sunday, the standup is on Monday.
const NOW = Date.parse("2026-03-28T15:00:00Z");

Deno.test("the demo calendar holds tomorrow's dentist at 09:00 Paris, a Meet call and an open invitation", async () => {
  const emulator = await createGoogleEmulator({
    issuer: "http://127.0.0.1:1",
    clients: [],
    now: () => NOW,
    demoCalendars: ["Demo@Example.com"],
  });
  const res = await emulator.fetch("/__emulator/calendar/events?email=demo@example.com");
  const { timeZone, items } = await res.json() as {
    timeZone: string;
    items: Record<string, unknown>[];
  };
  assert.equal(timeZone, "Europe/Paris");
  // deno-lint-ignore no-explicit-any
  const bySummary: Record<string, any> = Object.fromEntries(items.map((e) => [e.summary, e]));
  // Sunday 29 March is the spring change: 09:00 is already CEST (+02:00).
  assert.equal(bySummary["Dentist"]?.start.dateTime, "2026-03-29T09:00:00+02:00");
  assert.match(
    bySummary["Call with Bob"]?.hangoutLink,
    /^https:\/\/meet\.google\.com\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/,
  );
  assert.deepEqual(bySummary["Team standup"]?.recurrence, ["RRULE:FREQ=WEEKLY;BYDAY=MO"]);
  assert.equal(bySummary["Team standup"]?.start.dateTime, "2026-03-30T10:00:00+02:00");
  assert.deepEqual(bySummary["Design conference"]?.start, { date: "2026-03-31" });
  const invitation = bySummary["Project review"];
  assert.equal(invitation?.organizer.email, "alice@example.org");
  const self = invitation?.attendees.find((a: { self?: boolean }) => a.self === true);
  assert.equal(self?.responseStatus, "needsAction");
  assert.equal(
    emulator.accountTokens("demo@example.com")?.email,
    "demo@example.com",
    "in the chooser",
  );
});

Deno.test("parseCliArgs() takes --demo-calendar (repeatable) and --allow-http-loopback-push", () => {
  const parsed = parseCliArgs([
    "--client-id=x",
    "--client-secret=y",
    "--redirect-uri=http://127.0.0.1/cb",
    "--demo-calendar=a@example.com",
    "--demo-calendar=b@example.com",
    "--allow-http-loopback-push=true",
  ]);
  assert.equal(typeof parsed, "object");
  if (typeof parsed === "string") return;
  assert.deepEqual(parsed.demoCalendars, ["a@example.com", "b@example.com"]);
  assert.equal(parsed.allowHttpLoopbackPush, true);
  assert.equal(
    typeof parseCliArgs([
      "--client-id=x",
      "--client-secret=y",
      "--redirect-uri=http://127.0.0.1/cb",
      "--allow-http-loopback-push=yes",
    ]),
    "string",
  );
});
