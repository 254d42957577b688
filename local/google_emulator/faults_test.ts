import assert from "node:assert/strict";
import { FaultInjector, parseFaultSpec } from "./faults.ts";

Deno.test("parseFaultSpec() accepts Calendar errors for the events endpoint only", () => {
  assert.deepEqual(parseFaultSpec({ endpoint: "events", kind: "429", retryAfterSeconds: 3 }), {
    endpoint: "events",
    kind: "429",
    retryAfterSeconds: 3,
  });
  assert.match(
    parseFaultSpec({ endpoint: "token", kind: "quotaExceeded" }) as string,
    /endpoint must be events/,
  );
});

Deno.test("parseFaultSpec() refuses count together with persistent, and bad values", () => {
  assert.equal(
    typeof parseFaultSpec({ endpoint: "events", kind: "429", count: 2, persistent: true }),
    "string",
  );
  assert.equal(typeof parseFaultSpec({ endpoint: "events", kind: "nope" }), "string");
  assert.equal(
    typeof parseFaultSpec({ endpoint: "events", kind: "429", retryAfterSeconds: -1 }),
    "string",
  );
  assert.equal(typeof parseFaultSpec(null), "string");
});

Deno.test("FaultInjector plays a persistent fault until cleared", async () => {
  const faults = new FaultInjector();
  faults.add({ endpoint: "events", kind: "userRateLimitExceeded", persistent: true });
  const req = new Request("http://emulator/");
  for (let i = 0; i < 3; i++) {
    const response = await faults.play("events", req);
    assert.equal(response?.status, 403);
    assert.equal((await response?.json()).error.errors[0].reason, "userRateLimitExceeded");
  }
  assert.equal(faults.pending().events, 1);
  faults.clear();
  assert.equal(await faults.play("events", req), undefined);
});
