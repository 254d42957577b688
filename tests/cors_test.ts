/** withCors(): only the configured origins get CORS answers; nothing changes when none is set. */

import { withCors } from "../supabase/functions/_shared/cors.ts";
import { assertEquals } from "./support/assert.ts";

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
  assertEquals(res.status, 204);
  assertEquals(res.headers.get("access-control-allow-origin"), APP);
  assertEquals(res.headers.get("access-control-allow-methods"), "GET, POST");
  assertEquals(calls, before);
});

Deno.test("withCors() adds the allowed origin to answers and keeps their own Vary", async () => {
  const res = await wrapped(new Request("http://f/x", { headers: { origin: APP } }));
  assertEquals(res.headers.get("access-control-allow-origin"), APP);
  assertEquals(res.headers.get("vary"), "Accept, Origin");
  assertEquals(await res.json(), { ok: true });
});

Deno.test("withCors() gives another origin no CORS headers and no preflight", async () => {
  const evil = { origin: "https://evil.example" };
  const res = await wrapped(new Request("http://f/x", { headers: evil }));
  await res.body?.cancel();
  assertEquals(res.headers.get("access-control-allow-origin"), null);
  const pre = await wrapped(new Request("http://f/x", { method: "OPTIONS", headers: evil }));
  await pre.body?.cancel();
  assertEquals(pre.status, 405);
});

Deno.test("withCors() is the bare handler when no origin is allowed", () => {
  assertEquals(withCors(handler, { allowedOrigins: [], methods: ["GET"] }), handler);
});
