import assert from "node:assert/strict";
import { delay, pool } from "./async.ts";

Deno.test("pool() keeps the order of its items and passes each index", async () => {
  const out = await pool([30, 10, 20], 2, async (ms, i) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return `${i}:${ms}`;
  });
  assert.deepEqual(out, ["0:30", "1:10", "2:20"]);
});

Deno.test("pool() never runs more than `concurrency` tasks at once", async () => {
  let running = 0;
  let most = 0;
  const gates: (() => void)[] = [];
  const done = pool(Array.from({ length: 10 }, (_, i) => i), 3, async () => {
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
  });
  // Release the waiting tasks one at a time until all ten have run.
  for (let released = 0; released < 10; released++) {
    while (gates.length === 0) await Promise.resolve();
    gates.shift()!();
    await Promise.resolve();
  }
  await done;
  assert.equal(most, 3);
});

Deno.test("pool() of no items runs nothing", async () => {
  assert.deepEqual(await pool([], 4, () => Promise.reject(new Error("ran"))), []);
});

Deno.test("pool() rejects with the first failure", async () => {
  await assert.rejects(
    pool([1, 2, 3], 2, (n) => n === 2 ? Promise.reject(new Error("two")) : Promise.resolve(n)),
    /two/,
  );
});

Deno.test("pool() refuses a concurrency below 1", async () => {
  await assert.rejects(pool([1], 0, (n) => Promise.resolve(n)), RangeError);
});

Deno.test("delay() resolves after its timer, not before", async () => {
  let done = false;
  const waiting = delay(20).then(() => done = true);
  await Promise.resolve();
  assert.equal(done, false);
  await waiting;
  assert.equal(done, true);
});
