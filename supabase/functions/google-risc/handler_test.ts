import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { RISC_EVENT_TYPES, RISC_ISSUER } from "../_google_calendar/risc_facts.ts";
import type { AdminClient } from "../_google_calendar/supabase_admin.ts";
import {
  createRiscHandler,
  JTI_RETENTION_SECONDS,
  MAX_SET_BYTES,
  SET_MAX_AGE_SECONDS,
} from "./handler.ts";

const CLIENT = "client.apps.googleusercontent.com";
const NOW = 1_800_000_000;
const pair = await generateKeyPair("RS256", { extractable: true });
const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "k1" };

/** A handler over a fake database that records each RPC and answers `answer`. */
function setup(answer: { data?: unknown; error?: unknown } = {}) {
  const calls: { name: string; args: Record<string, unknown> }[] = [];
  const db = {
    rpc(name: string, args: Record<string, unknown>) {
      calls.push({ name, args });
      return Promise.resolve({
        data: answer.data ?? { duplicate: false, users: [] },
        error: answer.error ?? null,
      });
    },
  } as unknown as AdminClient;
  const handler = createRiscHandler({
    db,
    keys: (kid) => Promise.resolve(kid === "k1" ? jwk : undefined),
    audiences: [CLIENT],
    webhooks: { db, webhooks: null },
    nowSeconds: () => NOW,
  });
  return { handler, calls };
}

async function set(events: Record<string, unknown> = {
  [RISC_EVENT_TYPES.accountDisabled]: {
    subject: { subject_type: "iss-sub", iss: RISC_ISSUER, sub: "1234" },
    reason: "hijacking",
  },
}): Promise<string> {
  return await new SignJWT({ events })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(RISC_ISSUER)
    .setAudience(CLIENT)
    .setIssuedAt(NOW)
    .setJti("jti-1")
    .sign(pair.privateKey);
}

function post(body: BodyInit, headers: Record<string, string> = {}): Request {
  return new Request("http://x/google-risc", {
    method: "POST",
    headers: { "content-type": "application/secevent+jwt", ...headers },
    body,
  });
}

Deno.test("google-risc answers 202 to a valid SET and applies it in one RPC", async () => {
  const { handler, calls } = setup();
  const res = await handler(post(await set()));
  assert.equal(res.status, 202);
  assert.deepEqual(calls, [{
    name: "google_risc_apply_event",
    args: {
      p_jti: "jti-1",
      p_event_types: [RISC_EVENT_TYPES.accountDisabled],
      p_actions: [{
        action: "disable",
        google_sub: "1234",
        reason: "google_account_disabled",
        google_reason: "hijacking",
      }],
      p_retention_seconds: JTI_RETENTION_SECONDS,
      p_webhooks: false,
    },
  }]);
});

Deno.test("google-risc refuses a replayed jti with 400 invalid_request", async () => {
  const { handler } = setup({ data: { duplicate: true, users: [] } });
  const res = await handler(post(await set()));
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), {
    err: "invalid_request",
    description: "This SET (jti) was already received.",
  });
});

Deno.test("google-risc refuses a body over 64 KiB unread, by header or by stream", async () => {
  const { handler, calls } = setup();
  const big = "a".repeat(MAX_SET_BYTES + 1);
  const declared = await handler(post(big, { "content-length": String(big.length) }));
  assert.equal(declared.status, 413);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 70; i++) {
        controller.enqueue(new Uint8Array(1024).fill(97));
      }
      controller.close();
    },
  });
  const streamed = await handler(post(stream));
  assert.equal(streamed.status, 413);
  assert.equal((await streamed.json()).err, "invalid_request");
  assert.equal(calls.length, 0);
});

Deno.test("google-risc refuses a body that is not a SET, touching nothing", async () => {
  const { handler, calls } = setup();
  for (const body of ["", "hello", "{}", (await set()) + "x"]) {
    const res = await handler(post(body));
    assert.equal(res.status, 400, body.slice(0, 20));
    assert.match((await res.json()).err, /^invalid_/);
  }
  assert.equal(calls.length, 0);
});

Deno.test("google-risc refuses a declared oversize body without reading it", async () => {
  const { handler } = setup();
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += 1;
      if (pulled > 100) controller.close();
      else controller.enqueue(new Uint8Array(1024).fill(97));
    },
  });
  const res = await handler(post(body, { "content-length": String(100 * 1024) }));
  assert.equal(res.status, 413);
  assert.ok(pulled <= 2, `read ${pulled} KiB of a body it should have refused unread`);
});

Deno.test("google-risc answers 405 to anything but POST", async () => {
  const { handler } = setup();
  const res = await handler(new Request("http://x/google-risc"));
  assert.deepEqual([res.status, res.headers.get("allow")], [405, "POST"]);
});

Deno.test("google-risc answers 503 when the database fails, so Google may retry", async () => {
  const { handler } = setup({ error: { code: "08006", message: "down" } });
  const res = await handler(post(await set()));
  assert.equal(res.status, 503);
  assert.equal((await res.json()).code, "database_unavailable");
});

Deno.test("google-risc remembers a jti for longer than the oldest SET it accepts", async () => {
  // The oldest iat still accepted: its jti must outlive the window, or a replay passes both checks.
  const oldest = await new SignJWT({ events: { [RISC_EVENT_TYPES.sessionsRevoked]: {} } })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(RISC_ISSUER)
    .setAudience(CLIENT)
    .setIssuedAt(NOW - SET_MAX_AGE_SECONDS)
    .setJti("jti-old")
    .sign(pair.privateKey);
  const { handler, calls } = setup();
  assert.equal((await handler(post(oldest))).status, 202);
  const retention = calls[0]!.args.p_retention_seconds as number;
  assert.ok(retention > SET_MAX_AGE_SECONDS, `retention ${retention}s`);
});
