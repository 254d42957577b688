import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import type { AdminClient } from "./supabase_admin.ts";
import { attemptDelivery, deliverDue, signWebhook } from "./webhook_delivery.ts";

const SECRET = "whsec_" + btoa("0123456789abcdef0123456789abcdef");
const SETTINGS = { url: "https://bot.example/webhooks", secret: SECRET };

Deno.test("signWebhook() headers verify with standardwebhooks unchanged", async () => {
  const body = JSON.stringify({ type: "google_calendar.connected", data: { user_id: "u" } });
  const headers = await signWebhook(SECRET, { id: "msg_1", body });
  assert.match(headers["webhook-signature"]!, /^v1,[A-Za-z0-9+/]+=*$/);
  assert.deepEqual(new Webhook(SECRET).verify(body, headers), JSON.parse(body));
  assert.throws(() => new Webhook(SECRET).verify(body + " ", headers));
  assert.throws(() =>
    new Webhook("whsec_" + btoa("another secret of 32 bytes......")).verify(body, headers)
  );
  const old = await signWebhook(SECRET, { id: "msg_1", body, at: new Date(Date.now() - 600_000) });
  assert.throws(() => new Webhook(SECRET).verify(body, old));
});

function answering(status: number): typeof fetch {
  return () => Promise.resolve(new Response(status === 204 ? null : "secret details", { status }));
}

Deno.test("attemptDelivery() classifies answers: 2xx delivered, 410 gone, others retry", async () => {
  const msg = { id: "msg_1", body: "{}" };
  assert.equal(
    (await attemptDelivery(SETTINGS, msg, { fetch: answering(204) })).outcome,
    "delivered",
  );
  assert.deepEqual(await attemptDelivery(SETTINGS, msg, { fetch: answering(410) }), {
    outcome: "gone",
    status: 410,
    error: "gone",
  });
  assert.deepEqual(await attemptDelivery(SETTINGS, msg, { fetch: answering(500) }), {
    outcome: "retry",
    status: 500,
    error: "http_500",
  });
  assert.equal((await attemptDelivery(SETTINGS, msg, { fetch: answering(302) })).error, "http_302");
  const refused: typeof fetch = () => Promise.reject(new TypeError("connection refused"));
  assert.equal(
    (await attemptDelivery(SETTINGS, msg, { fetch: refused })).error,
    "connection_failed",
  );
});

Deno.test("attemptDelivery(): 400, 401 and 404 are retried, only 410 is gone (W2)", async () => {
  const msg = { id: "msg_1", body: "{}" };
  for (const status of [400, 401, 403, 404, 409, 422, 429]) {
    assert.deepEqual(
      await attemptDelivery(SETTINGS, msg, { fetch: answering(status) }),
      { outcome: "retry", status, error: `http_${status}` },
      `${status}`,
    );
  }
});

Deno.test("attemptDelivery(): a 307 to elsewhere POSTs nothing there (W3)", async () => {
  // Real fetch, real sockets: the receiver redirects, the target counts what reaches it.
  let reachedTarget = 0;
  const target = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    reachedTarget++;
    return new Response("ok");
  });
  const targetUrl = `http://127.0.0.1:${target.addr.port}/stolen`;
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      await req.body?.cancel();
      return new Response(null, { status: 307, headers: { location: targetUrl } });
    },
  );
  try {
    const outcome = await attemptDelivery(
      { url: `http://127.0.0.1:${receiver.addr.port}/hook`, secret: SECRET },
      { id: "msg_2", body: '{"type":"x"}' },
    );
    assert.deepEqual(outcome, { outcome: "retry", status: 307, error: "http_307" });
    assert.equal(reachedTarget, 0, "nothing was POSTed to the redirect's target");
  } finally {
    await receiver.shutdown();
    await target.shutdown();
  }
});

Deno.test("attemptDelivery() gives up at the timeout", async () => {
  const hang: typeof fetch = (_url, init) =>
    new Promise((_resolve, reject) => {
      init?.signal?.addEventListener("abort", () => reject(init.signal!.reason));
    });
  const result = await attemptDelivery(SETTINGS, { id: "m", body: "{}" }, {
    fetch: hang,
    timeoutMs: 20,
  });
  assert.deepEqual(result, { outcome: "retry", status: null, error: "timeout" });
});

/** A database double: a queue of claimable events, and every settle recorded. */
function fakeDb(events: { id: string; user_id: string }[]) {
  const settles: Record<string, unknown>[] = [];
  const claims: Record<string, unknown>[] = [];
  const db = {
    rpc(name: string, args: Record<string, unknown>) {
      if (name.startsWith("google_calendar_webhook_claim")) {
        claims.push({ name, ...args });
        const batch = events.splice(0, (args.p_limit as number) ?? 1).map((e) => ({
          ...e,
          payload: {
            type: "google_calendar.connected",
            timestamp: new Date().toISOString(),
            data: { user_id: e.user_id },
          },
          attempts: 1,
          lease_id: `lease-${e.id}`,
          webhook_id: `msg_${e.id}`,
        }));
        return Promise.resolve({ data: batch, error: null });
      }
      // settle_many: every lease still ours, nothing too old.
      const results = args.p_results as Record<string, unknown>[];
      settles.push(...results);
      return Promise.resolve({
        data: results.map((r) => ({ id: r.id, settled: true, dead: false })),
        error: null,
      });
    },
  } as unknown as AdminClient;
  return { db, settles, claims };
}

Deno.test("deliverDue() claims, POSTs signed bodies and settles each outcome", async () => {
  const { db, settles } = fakeDb([
    { id: "a", user_id: "u1" },
    { id: "b", user_id: "u2" },
    { id: "c", user_id: "u3" },
  ]);
  const seen: string[] = [];
  const fetchByUser: typeof fetch = async (_url, init) => {
    const body = String(init?.body);
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    new Webhook(SECRET).verify(body, headers); // throws on a bad signature
    const user = JSON.parse(body).data.user_id;
    seen.push(headers["webhook-id"]!);
    return await Promise.resolve(
      new Response(null, { status: user === "u1" ? 200 : user === "u2" ? 410 : 503 }),
    );
  };
  const report = await deliverDue({ db, webhooks: SETTINGS, fetch: fetchByUser }, {
    limit: 100,
    deadline: Date.now() + 10_000,
    concurrency: 2,
  });
  assert.deepEqual(
    { ...report, elapsedMs: 0 },
    {
      claimed: 3,
      delivered: 1,
      retried: 1,
      gone: 1,
      dead: 0,
      lostLease: 0,
      errors: { http_503: 1 },
      stoppedBy: "empty",
      elapsedMs: 0,
    },
  );
  assert.deepEqual(seen.sort(), ["msg_a", "msg_b", "msg_c"]);
  assert.deepEqual(
    settles.map((s) => [s.id, s.lease_id, s.outcome, s.status]),
    [["a", "lease-a", "delivered", 200], ["b", "lease-b", "gone", 410], [
      "c",
      "lease-c",
      "retry",
      503,
    ]],
  );
});

Deno.test("deliverDue() stops at its limit and sends nothing when webhooks are off", async () => {
  const { db, claims } = fakeDb([{ id: "a", user_id: "u1" }, { id: "b", user_id: "u2" }]);
  const report = await deliverDue({ db, webhooks: SETTINGS, fetch: answering(200) }, {
    limit: 1,
    deadline: Date.now() + 10_000,
  });
  assert.equal(report.claimed, 1);
  assert.equal(report.stoppedBy, "limit");
  assert.equal(claims[0]!.p_limit, 1);
  const off = await deliverDue({ db, webhooks: null }, { limit: 10, deadline: Date.now() + 1000 });
  assert.equal(off.stoppedBy, "disabled");
  assert.equal(claims.length, 1);
});

Deno.test("deliverDue() scoped to a user claims that user's head only", async () => {
  const { db, claims } = fakeDb([]);
  await deliverDue({ db, webhooks: SETTINGS, fetch: answering(200) }, {
    limit: 10,
    deadline: Date.now() + 1000,
    userId: "u1",
  });
  assert.equal(claims[0]!.name, "google_calendar_webhook_claim_users");
  assert.deepEqual(claims[0]!.p_user_ids, ["u1"]);
});
