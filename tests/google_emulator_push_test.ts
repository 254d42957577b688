// events.watch and channels.stop as Google's push guide describes them, against a real
// receiver on loopback: a `sync` message when the channel opens, `exists` on each change with
// the X-Goog-* headers, nothing after stop or expiry. Also incremental sync: nextSyncToken, a
// syncToken list with only the changes (deletions included), and 410 once invalidated.
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

interface Received {
  headers: Headers;
  body: string;
}

function receiver() {
  const received: Received[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    received.push({ headers: req.headers, body: await req.text() });
    return new Response(null, { status: 200 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/push`,
    received,
    async waitFor(count: number): Promise<void> {
      for (let i = 0; i < 500 && received.length < count; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(received.length, count, `expected ${count} push messages`);
    },
    stop: () => server.shutdown(),
  };
}

async function call(
  emulator: GoogleEmulator,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: LooseJson }> {
  const res = await emulator.fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? {} : JSON.parse(text) };
}

const WATCH = "/calendar/v3/calendars/primary/events/watch";
const event = {
  summary: "Dentist",
  start: { dateTime: "2026-03-30T09:00:00+02:00" },
  end: { dateTime: "2026-03-30T10:00:00+02:00" },
};

Deno.test("emulator: events.watch sends sync, then exists per change; stop and expiry end it", async () => {
  const { emulator, advance } = await testEmulator({ allowHttpLoopbackPush: true });
  const hook = receiver();
  try {
    const { access_token: token = "" } = await signIn(emulator, {
      params: { scope: CALENDAR_EVENTS },
    });
    const watched = await call(emulator, token, "POST", WATCH, {
      id: "channel-1",
      type: "web_hook",
      address: hook.url,
      token: "secret-token",
      params: { ttl: "3600" },
    });
    assert.equal(watched.status, 200);
    assert.equal(watched.body.kind, "api#channel");
    assert.equal(watched.body.id, "channel-1");
    assert.equal(typeof watched.body.resourceId, "string");
    assert.equal(watched.body.expiration, String(emulator.now() + 3600_000));
    await hook.waitFor(1);
    const sync = hook.received[0]!;
    assert.equal(sync.headers.get("x-goog-resource-state"), "sync");
    assert.equal(sync.headers.get("x-goog-message-number"), "1");
    assert.equal(sync.headers.get("x-goog-channel-id"), "channel-1");
    assert.equal(sync.headers.get("x-goog-channel-token"), "secret-token");
    assert.equal(sync.headers.get("x-goog-resource-id"), watched.body.resourceId);
    assert.equal(sync.headers.get("x-goog-resource-uri"), watched.body.resourceUri);
    assert.equal(
      sync.headers.get("x-goog-channel-expiration"),
      new Date(emulator.now() + 3600_000).toUTCString(),
    );
    assert.equal(sync.body, "");

    await call(emulator, token, "POST", "/calendar/v3/calendars/primary/events", event);
    await controlCall(emulator, "calendar/events", { email: TEST_EMAIL, event });
    await hook.waitFor(3);
    assert.deepEqual(hook.received.map((m) => m.headers.get("x-goog-resource-state")), [
      "sync",
      "exists",
      "exists",
    ]);
    assert.deepEqual(
      hook.received.map((m) => Number(m.headers.get("x-goog-message-number"))).sort(),
      [1, 2, 3],
    );

    const taken = await call(emulator, token, "POST", WATCH, {
      id: "channel-1",
      type: "web_hook",
      address: hook.url,
    });
    assert.equal(taken.status, 400);
    assert.equal(taken.body.error.errors[0].reason, "channelIdNotUnique");

    const stopped = await call(emulator, token, "POST", "/calendar/v3/channels/stop", {
      id: "channel-1",
      resourceId: watched.body.resourceId,
    });
    assert.equal(stopped.status, 204);
    assert.equal(
      (await call(emulator, token, "POST", "/calendar/v3/channels/stop", { id: "channel-1" }))
        .status,
      404,
    );
    await controlCall(emulator, "calendar/events", { email: TEST_EMAIL, event });

    const second = await call(emulator, token, "POST", WATCH, {
      id: "channel-2",
      type: "web_hook",
      address: hook.url,
      params: { ttl: "60" },
    });
    assert.equal(second.body.resourceId, watched.body.resourceId, "one resource, one id");
    await hook.waitFor(4);
    assert.equal(hook.received[3]!.headers.get("x-goog-channel-id"), "channel-2");
    assert.equal(hook.received[3]!.headers.get("x-goog-channel-token"), null);
    advance(61_000);
    await controlCall(emulator, "calendar/events", { email: TEST_EMAIL, event });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(hook.received.length, 4, "nothing after stop or expiry");
  } finally {
    emulator.close();
    await hook.stop();
  }
});

Deno.test("emulator: events.watch takes https only, unless loopback http is allowed explicitly", async () => {
  const strict = await testEmulator();
  const { access_token: token = "" } = await signIn(strict.emulator, {
    params: { scope: CALENDAR_EVENTS },
  });
  const http = await call(strict.emulator, token, "POST", WATCH, {
    id: "c1",
    type: "web_hook",
    address: "http://127.0.0.1:9/push",
  });
  assert.equal(http.status, 400);
  assert.equal(http.body.error.errors[0].reason, "push.webhookUrlNotHttps");
  const loose = await testEmulator({ allowHttpLoopbackPush: true, pushRetryBaseMs: 1 });
  const other = await signIn(loose.emulator, { params: { scope: CALENDAR_EVENTS } });
  const remote = await call(loose.emulator, other.access_token ?? "", "POST", WATCH, {
    id: "c2",
    type: "web_hook",
    address: "http://example.org/push",
  });
  assert.equal(remote.status, 400, "only loopback may be http");
  const badType = await call(loose.emulator, other.access_token ?? "", "POST", WATCH, {
    id: "c3",
    type: "email",
    address: "https://example.org/push",
  });
  assert.equal(badType.status, 400);
  loose.emulator.close();
});

Deno.test("emulator: a syncToken list returns only changes, deletions included; invalidation gives 410", async () => {
  const { emulator } = await testEmulator();
  const { access_token: token = "" } = await signIn(emulator, {
    params: { scope: CALENDAR_EVENTS },
  });
  const base = "/calendar/v3/calendars/primary/events";
  await call(emulator, token, "POST", base, { id: "keep00001", ...event });
  await call(emulator, token, "POST", base, { id: "drop00001", ...event });
  const full = await call(emulator, token, "GET", `${base}?maxResults=1`);
  assert.equal(full.body.nextSyncToken, undefined, "not on a page with more to come");
  const last = await call(
    emulator,
    token,
    "GET",
    `${base}?maxResults=1&pageToken=${full.body.nextPageToken}`,
  );
  const syncToken = last.body.nextSyncToken;
  assert.equal(typeof syncToken, "string");
  const nothing = await call(emulator, token, "GET", `${base}?syncToken=${syncToken}`);
  assert.deepEqual(nothing.body.items, []);
  await call(emulator, token, "DELETE", `${base}/drop00001`);
  await controlCall(emulator, "calendar/events/patch", {
    email: TEST_EMAIL,
    eventId: "keep00001",
    patch: { summary: "Dentist (moved)" },
  });
  const changes = await call(emulator, token, "GET", `${base}?syncToken=${syncToken}`);
  assert.equal(changes.status, 200);
  const byId = Object.fromEntries(changes.body.items.map((e: LooseJson) => [e.id, e]));
  assert.equal(byId.drop00001.status, "cancelled");
  assert.equal(byId.keep00001.summary, "Dentist (moved)");
  const clash = await call(
    emulator,
    token,
    "GET",
    `${base}?syncToken=${syncToken}&timeMin=2026-01-01T00:00:00Z`,
  );
  assert.equal(clash.status, 400);
  await controlCall(emulator, "calendar/sync-tokens/invalidate", { email: TEST_EMAIL });
  const gone = await call(
    emulator,
    token,
    "GET",
    `${base}?syncToken=${changes.body.nextSyncToken}`,
  );
  assert.equal(gone.status, 410);
  assert.equal(gone.body.error.errors[0].reason, "fullSyncRequired");
});
