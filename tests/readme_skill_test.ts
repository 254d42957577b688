/**
 * The README's skill example (calendar-add-event), served as the local stack serves a function,
 * books an event at the emulator for a connected user, and a retry books nothing more.
 */

import assert from "node:assert/strict";
import { serveFunction } from "../local/stack/functions.ts";
import { connectedUser, emulatorGet, stack } from "./support/stack.ts";
import { BOT_KEY } from "./support/calendar_tools.ts";

const DIR = ".local/readme-skill";
const README = await Deno.readTextFile("README.md");
const snippet = README.match(/```ts\n(\/\/ supabase\/functions\/calendar-add-event[\s\S]*?)```/)
  ?.[1];

Deno.test("README: the calendar-add-event skill runs on the stack: one event, even when retried", async () => {
  assert(snippet, "the README shows calendar-add-event");
  await Deno.mkdir(`${DIR}/calendar-add-event`, { recursive: true });
  await Deno.writeTextFile(`${DIR}/calendar-add-event/index.ts`, snippet);
  await Deno.remove(`${DIR}/_google_calendar`).catch(() => {});
  await Deno.symlink(
    await Deno.realPath("supabase/functions/_google_calendar"),
    `${DIR}/_google_calendar`,
  );
  const server = await serveFunction("calendar-add-event", {
    env: stack.function_env,
    logDir: DIR,
    dir: DIR,
  });
  try {
    const { user, google } = await connectedUser("readme-skill");
    const book = () =>
      fetch(`http://127.0.0.1:${server.port}`, {
        method: "POST",
        headers: { authorization: `Bearer ${BOT_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({
          user_id: user.id,
          request_id: "wa-msg-readme-1",
          summary: "Dentist",
          start: "2026-03-30T09:00",
          end: "2026-03-30T10:00",
          time_zone: "Europe/Paris",
        }),
      });
    const first = await book();
    const body = await first.json();
    assert.equal(first.status, 200, JSON.stringify(body));
    assert.equal(Date.parse(body.result.event.start), Date.parse("2026-03-30T07:00:00Z"));
    const again = await (await book()).json();
    assert.equal(again.result.already_existed, true);
    const qs = new URLSearchParams({ email: google });
    const { items } = await emulatorGet(`calendar/events?${qs}`) as { items: unknown[] };
    assert.equal(items.length, 1, "one event");
    const refused = await fetch(`http://127.0.0.1:${server.port}`, {
      method: "POST",
      headers: { authorization: `Bearer ${BOT_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: user.id, summary: "No id" }),
    });
    assert.deepEqual([refused.status, (await refused.json()).field], [400, "request_id"]);
  } finally {
    await server.stop();
  }
});
