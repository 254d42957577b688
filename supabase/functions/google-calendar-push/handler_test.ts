import assert from "node:assert/strict";
import { hashChannelToken } from "../_google_calendar/push_channels.ts";
import type { AdminClient } from "../_google_calendar/supabase_admin.ts";
import { createPushHandler } from "./handler.ts";

const CHANNEL = "0c0c0c0c-0000-4000-8000-000000000001";
const USER = "5b0c0000-0000-4000-8000-000000000001";

/** A database with one active channel (token "secret", resource "res-1"). */
async function fakeDb(state = "active") {
  const hash = await hashChannelToken("secret");
  const calls: string[] = [];
  const db = {
    rpc(name: string, args: { p_channel_id: string }) {
      calls.push(name);
      const known = args.p_channel_id === CHANNEL;
      if (name === "google_calendar_push_channel") {
        return Promise.resolve({
          data: known ? [{ token_hash: hash, resource_id: "res-1", state, user_id: USER }] : [],
          error: null,
        });
      }
      return Promise.resolve({
        data: [{ result: state === "replaced" ? "replaced" : "queued", user_id: USER }],
        error: null,
      });
    },
  } as unknown as AdminClient;
  return { db, calls };
}

function push(headers: Record<string, string>, method = "POST"): Request {
  return new Request("http://x/functions/v1/google-calendar-push", {
    method,
    headers: {
      "x-goog-channel-id": CHANNEL,
      "x-goog-channel-token": "secret",
      "x-goog-resource-id": "res-1",
      "x-goog-resource-state": "exists",
      "x-goog-message-number": "2",
      ...headers,
    },
    body: method === "POST" ? "{}" : null,
  });
}

Deno.test("an exists push of a serving channel requests one sync", async () => {
  const { db, calls } = await fakeDb();
  const synced: string[] = [];
  const handler = createPushHandler({ db, onSyncQueued: (u) => synced.push(u) });
  const res = await handler(push({}));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-push-outcome"), "queued");
  assert.deepEqual(synced, [USER]);
  assert.deepEqual(calls, ["google_calendar_push_channel", "google_calendar_push_exists"]);
});

Deno.test("the sync hello is answered and changes nothing", async () => {
  const { db, calls } = await fakeDb();
  const handler = createPushHandler({ db, onSyncQueued: () => assert.fail("no sync") });
  const res = await handler(
    push({ "x-goog-resource-state": "sync", "x-goog-message-number": "1" }),
  );
  assert.equal([res.status, res.headers.get("x-push-outcome")].join(), "200,hello");
  assert.deepEqual(calls, ["google_calendar_push_channel"]);
});

Deno.test("forged or malformed pushes are answered 200 and change nothing", async () => {
  const cases: Record<string, string>[] = [
    { "x-goog-channel-token": "guess" },
    { "x-goog-channel-id": "0c0c0c0c-0000-4000-8000-000000000999" },
    { "x-goog-channel-id": "not-a-uuid" },
    { "x-goog-resource-id": "res-other" },
    { "x-goog-resource-state": "weird" },
    { "x-goog-message-number": "x" },
    { "x-goog-channel-token": "" },
  ];
  for (const headers of cases) {
    const { db, calls } = await fakeDb();
    const handler = createPushHandler({ db, onSyncQueued: () => assert.fail("no sync") });
    const res = await handler(push(headers));
    assert.equal(res.status, 200, JSON.stringify(headers));
    assert.equal(res.headers.get("x-push-outcome"), "ignored");
    assert.equal(calls.includes("google_calendar_push_exists"), false);
  }
});

Deno.test("a push of a replaced channel queues no sync", async () => {
  const { db } = await fakeDb("replaced");
  const handler = createPushHandler({ db, onSyncQueued: () => assert.fail("no sync") });
  const res = await handler(push({}));
  assert.equal(res.headers.get("x-push-outcome"), "replaced");
});

Deno.test("only POST is answered", async () => {
  const { db } = await fakeDb();
  const res = await createPushHandler({ db, onSyncQueued: () => {} })(push({}, "GET"));
  assert.equal(res.status, 405);
});

Deno.test("a database failure answers 503, so Google retries", async () => {
  const db = { rpc: () => Promise.resolve({ data: null, error: { message: "down" } }) };
  const res = await createPushHandler({ db: db as unknown as AdminClient, onSyncQueued: () => {} })(
    push({}),
  );
  assert.equal(res.status, 503);
});

Deno.test("a channel is looked up once a minute per process, not once a message", async () => {
  const { db, calls } = await fakeDb();
  const handler = createPushHandler({ db, onSyncQueued: () => {} });
  await handler(push({ "x-goog-resource-state": "sync", "x-goog-message-number": "1" }));
  await handler(push({ "x-goog-message-number": "2" }));
  await handler(push({ "x-goog-channel-token": "guess", "x-goog-message-number": "3" }));
  assert.deepEqual(calls.filter((c) => c === "google_calendar_push_channel").length, 1);
});

Deno.test("a push for a user whose sync is about to start writes nothing", async () => {
  const { db, calls } = await fakeDb();
  const handler = createPushHandler({
    db,
    onSyncQueued: () => assert.fail("already queued"),
    syncPending: (userId) => userId === USER,
  });
  const res = await handler(push({}));
  assert.equal(res.headers.get("x-push-outcome"), "coalesced");
  assert.equal(calls.includes("google_calendar_push_exists"), false);
});
