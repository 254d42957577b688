import assert from "node:assert/strict";
import { describeChange, type SyncClaim, syncDue } from "./calendar_sync.ts";
import { AppError } from "./errors.ts";
import type { AdminClient } from "./supabase_admin.ts";

/** A database that hands out `claims` and records every other RPC. */
function fakeDb(claims: SyncClaim[], saveResult: number | null = 0) {
  const calls: { name: string; args: Record<string, unknown> }[] = [];
  const db = {
    rpc(name: string, args: Record<string, unknown>) {
      calls.push({ name, args });
      if (name === "google_calendar_sync_claim") {
        return Promise.resolve({ data: claims, error: null });
      }
      if (name === "google_calendar_sync_save") {
        const events = args.p_events as unknown[];
        return Promise.resolve({ data: saveResult ?? null, error: null, events });
      }
      return Promise.resolve({ data: true, error: null });
    },
  } as unknown as AdminClient;
  return { db, calls };
}

const claim: SyncClaim = {
  user_id: "5b0c0000-0000-4000-8000-000000000001",
  sync_token: "tok-1",
  request_seq: 7,
  lease_id: "1ea5e000-0000-4000-8000-000000000001",
};

/** A googleFetch answering each URL from `pages` by its syncToken/pageToken. */
function fakeGoogle(answer: (query: URLSearchParams) => Response) {
  const seen: URLSearchParams[] = [];
  const googleFetch = (_userId: string, path: string | URL) => {
    const query = new URL(String(path), "https://x").searchParams;
    seen.push(query);
    return Promise.resolve(answer(query));
  };
  return { googleFetch, seen };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

Deno.test("an incremental sync follows every page, then saves events and token in one call", async () => {
  const { db, calls } = fakeDb([claim], 2);
  const { googleFetch, seen } = fakeGoogle((q) =>
    q.get("pageToken") === null
      ? json({ items: [{ id: "a", status: "confirmed", summary: "Dentist" }], nextPageToken: "p2" })
      : json({ items: [{ id: "b", status: "cancelled" }], nextSyncToken: "tok-2" })
  );
  const queued: string[] = [];
  const report = await syncDue(
    { db, googleFetch, webhooks: true, timeoutMs: 1000, onEventsQueued: (u) => queued.push(u) },
    { limit: 5 },
  );
  assert.deepEqual(seen.map((q) => [q.get("syncToken"), q.get("pageToken")]), [
    ["tok-1", null],
    ["tok-1", "p2"],
  ]);
  const save = calls.find((c) => c.name === "google_calendar_sync_save")!;
  assert.deepEqual(save.args.p_sync_token, "tok-2");
  assert.deepEqual(save.args.p_lease_id, claim.lease_id);
  assert.deepEqual(save.args.p_request_seq, 7);
  assert.deepEqual(save.args.p_resync, false);
  assert.deepEqual((save.args.p_events as { id: string }[]).map((e) => e.id), ["a", "b"]);
  assert.deepEqual(report.changed, 1);
  assert.deepEqual(queued, [claim.user_id]);
});

Deno.test("a 410 in the middle of a paged sync restarts as a full listing marked resync", async () => {
  const { db, calls } = fakeDb([claim], 1);
  const { googleFetch, seen } = fakeGoogle((q) => {
    if (q.get("syncToken") && !q.get("pageToken")) {
      return json({ items: [{ id: "half" }], nextPageToken: "p2" });
    }
    if (q.get("syncToken")) return json({ error: { code: 410 } }, 410);
    return json({ items: [{ id: "all", summary: "Dentist" }], nextSyncToken: "tok-full" });
  });
  const report = await syncDue({ db, googleFetch, webhooks: true, timeoutMs: 1000 }, { limit: 5 });
  assert.deepEqual(seen.at(-1)!.get("syncToken"), null);
  const save = calls.find((c) => c.name === "google_calendar_sync_save")!;
  assert.deepEqual(save.args.p_resync, true);
  assert.deepEqual(save.args.p_sync_token, "tok-full");
  // The half-read incremental page is not sent: the full listing replaces it.
  assert.deepEqual((save.args.p_events as { id: string }[]).map((e) => e.id), ["all"]);
  assert.deepEqual(report.resynced, 1);
});

Deno.test("the first sync keeps only the token", async () => {
  const { db, calls } = fakeDb([{ ...claim, sync_token: null }], 0);
  const { googleFetch } = fakeGoogle(() => json({ items: [{ id: "x" }], nextSyncToken: "tok-0" }));
  await syncDue({ db, googleFetch, webhooks: true, timeoutMs: 1000 }, { limit: 5 });
  const save = calls.find((c) => c.name === "google_calendar_sync_save")!;
  assert.deepEqual([save.args.p_sync_token, save.args.p_events, save.args.p_resync], [
    "tok-0",
    [],
    false,
  ]);
});

Deno.test("Google failing mid-sync saves nothing and backs off, with Google's Retry-After", async () => {
  const { db, calls } = fakeDb([claim]);
  let n = 0;
  const googleFetch = () => {
    if (n++ === 0) return Promise.resolve(json({ items: [{ id: "a" }], nextPageToken: "p2" }));
    return Promise.reject(
      new AppError("google_rate_limited", "slow down", { retryAfterSeconds: 42 }),
    );
  };
  const report = await syncDue({ db, googleFetch, webhooks: true, timeoutMs: 1000 }, { limit: 5 });
  assert.deepEqual(calls.some((c) => c.name === "google_calendar_sync_save"), false);
  const fail = calls.find((c) => c.name === "google_calendar_sync_fail")!;
  assert.deepEqual([fail.args.p_error, fail.args.p_retry_after_seconds], [
    "google_rate_limited",
    42,
  ]);
  assert.deepEqual(report.failed, 1);
});

Deno.test("a save that lost its lease counts as lost and queues no delivery", async () => {
  const { db } = fakeDb([claim], null);
  const { googleFetch } = fakeGoogle(() => json({ items: [{ id: "a" }], nextSyncToken: "t" }));
  const queued: string[] = [];
  const report = await syncDue(
    { db, googleFetch, webhooks: true, timeoutMs: 1000, onEventsQueued: (u) => queued.push(u) },
    { limit: 5 },
  );
  assert.deepEqual([report.lost, queued.length], [1, 0]);
});

Deno.test("describeChange keeps the agreed fields and the user's own answer", () => {
  assert.deepEqual(
    describeChange({
      id: "e1",
      status: "confirmed",
      summary: "Dentist",
      start: { dateTime: "2026-12-07T15:00:00Z" },
      end: { dateTime: "2026-12-07T16:00:00Z" },
      updated: "2026-12-06T10:00:00.000Z",
      recurringEventId: "r1",
      description: "not carried",
      attendees: [{ email: "bob@x", responseStatus: "accepted" }, {
        email: "me@x",
        self: true,
        responseStatus: "tentative",
      }],
    }),
    {
      id: "e1",
      status: "confirmed",
      summary: "Dentist",
      start: { dateTime: "2026-12-07T15:00:00Z" },
      end: { dateTime: "2026-12-07T16:00:00Z" },
      updated: "2026-12-06T10:00:00.000Z",
      response_status: "tentative",
      recurring_event_id: "r1",
    },
  );
  assert.deepEqual(describeChange({ id: "gone", status: "cancelled" })?.status, "cancelled");
  assert.deepEqual(describeChange({ summary: "no id" }), null);
});
