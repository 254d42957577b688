import assert from "node:assert/strict";
import { createToolsHandler } from "./handler.ts";

const USER = "6f1c0d8e-1b2a-4c3d-8e9f-0a1b2c3d4e5f";

/** The handler with a bot caller and a runner that records what it is asked to run. */
function handlerWith() {
  const runs: unknown[][] = [];
  const handler = createToolsHandler({
    callers: { authenticate: () => Promise.resolve({ kind: "bot" }) },
    run: (...args) => {
      runs.push(args);
      return Promise.resolve({ ok: true });
    },
  });
  return { handler, runs };
}

const post = (url: string, body: unknown) =>
  new Request(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

Deno.test("calendar-tools: a call runs the tool for the user the caller names", async () => {
  const { handler, runs } = handlerWith();
  const res = await handler(
    post("http://x/calendar-tools", {
      user_id: USER,
      tool: "get_event",
      input: { event_id: "a1" },
    }),
  );
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { result: { ok: true } });
  assert.deepEqual(runs, [[USER, "get_event", { event_id: "a1" }]]);
});

Deno.test("calendar-tools: anything in the query is refused, never half-read", async () => {
  const { handler, runs } = handlerWith();
  const res = await handler(
    post(`http://x/calendar-tools?user_id=${USER}`, { user_id: USER, tool: "get_event" }),
  );
  assert.equal(res.status, 400);
  assert.equal((await res.json()).code, "invalid_request");
  assert.equal(runs.length, 0);
});
