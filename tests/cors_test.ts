/** withCors(): only the configured origins get CORS answers; nothing changes when none is set. */

import { withCors } from "../supabase/functions/_google_calendar/cors.ts";
import assert from "node:assert/strict";

const APP = "https://app.example.com";
let calls = 0;
async function handler(req: Request): Promise<Response> {
  calls++;
  await Promise.resolve();
  return req.method === "OPTIONS"
    ? new Response("no", { status: 405 })
    : Response.json({ ok: true }, { headers: { vary: "Accept" } });
}
const wrapped = withCors(handler, { allowedOrigins: [APP], methods: ["GET", "POST"] });

Deno.test("withCors() answers an allowed origin's preflight without calling the handler", async () => {
  const before = calls;
  const res = await wrapped(
    new Request("http://f/x", { method: "OPTIONS", headers: { origin: APP } }),
  );
  assert.deepEqual(res.status, 204);
  assert.deepEqual(res.headers.get("access-control-allow-origin"), APP);
  assert.deepEqual(res.headers.get("access-control-allow-methods"), "GET, POST");
  assert.deepEqual(calls, before);
});

Deno.test("withCors() adds the allowed origin to answers and keeps their own Vary", async () => {
  const res = await wrapped(new Request("http://f/x", { headers: { origin: APP } }));
  assert.deepEqual(res.headers.get("access-control-allow-origin"), APP);
  assert.deepEqual(res.headers.get("vary"), "Accept, Origin");
  assert.deepEqual(await res.json(), { ok: true });
});

Deno.test("withCors() gives another origin no CORS headers and no preflight", async () => {
  const evil = { origin: "https://evil.example" };
  const res = await wrapped(new Request("http://f/x", { headers: evil }));
  await res.body?.cancel();
  assert.deepEqual(res.headers.get("access-control-allow-origin"), null);
  const pre = await wrapped(new Request("http://f/x", { method: "OPTIONS", headers: evil }));
  await pre.body?.cancel();
  assert.deepEqual(pre.status, 405);
});

Deno.test("withCors() is the bare handler when no origin is allowed", () => {
  assert.deepEqual(withCors(handler, { allowedOrigins: [], methods: ["GET"] }), handler);
});
