/**
 * events.watch and channels.stop through Google's own client, `@googleapis/calendar`, with a
 * real receiver on loopback: the client reads the channel resource, the receiver gets the sync
 * and exists messages, and the client's stop ends them.
 * https://developers.google.com/calendar/api/guides/push
 */

import assert from "node:assert/strict";
import { auth, calendar } from "@googleapis/calendar";
import { serveGoogleEmulator } from "../local/google_emulator/mod.ts";
import { CALENDAR_EVENTS, signIn, TEST_CLIENT } from "../local/google_emulator/testing.ts";

Deno.test("fidelity: the official client opens a channel, the receiver hears sync then exists, stop ends it", async () => {
  const states: string[] = [];
  const receiver = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    states.push(
      `${req.headers.get("x-goog-resource-state")}#${req.headers.get("x-goog-message-number")}`,
    );
    return new Response(null, { status: 204 });
  });
  const served = await serveGoogleEmulator({ clients: [TEST_CLIENT], allowHttpLoopbackPush: true });
  const waitFor = async (count: number) => {
    for (let i = 0; i < 500 && states.length < count; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(states.length, count);
  };
  try {
    const token = await signIn(served.emulator, { params: { scope: CALENDAR_EVENTS } });
    const credentials = new auth.OAuth2();
    credentials.setCredentials({ access_token: token.access_token ?? null });
    const api = calendar({ version: "v3", auth: credentials, rootUrl: `${served.url}/` });
    const channel = await api.events.watch({
      calendarId: "primary",
      requestBody: {
        id: crypto.randomUUID(),
        type: "web_hook",
        address: `http://127.0.0.1:${receiver.addr.port}/push`,
        token: "t",
      },
    });
    assert.equal(channel.data.kind, "api#channel");
    const expiration = Number(channel.data.expiration);
    const left = expiration - served.emulator.now();
    assert.ok(left > 604_700_000 && left <= 604_800_000, `default ttl is 604800 s, got ${left} ms`);
    await waitFor(1);
    await api.events.insert({
      calendarId: "primary",
      requestBody: {
        summary: "Dentist",
        start: { dateTime: "2026-03-30T09:00:00Z" },
        end: { dateTime: "2026-03-30T10:00:00Z" },
      },
    });
    await waitFor(2);
    assert.deepEqual(states, ["sync#1", "exists#2"]);
    const stopped = await api.channels.stop({
      requestBody: { id: channel.data.id ?? "", resourceId: channel.data.resourceId ?? "" },
    });
    assert.equal(stopped.status, 204);
    await api.events.insert({
      calendarId: "primary",
      requestBody: {
        summary: "After stop",
        start: { dateTime: "2026-03-30T11:00:00Z" },
        end: { dateTime: "2026-03-30T12:00:00Z" },
      },
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(states, ["sync#1", "exists#2"]);
  } finally {
    await served.shutdown();
    await receiver.shutdown();
  }
});
