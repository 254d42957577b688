import assert from "node:assert/strict";
import { median, percentile, round, summarize } from "./stats.ts";

Deno.test("percentile() is the nearest rank", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(hundred, 50), 50);
  assert.equal(percentile(hundred, 99), 99);
  assert.equal(percentile(hundred, 100), 100);
  assert.equal(percentile(hundred, 0), 1);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2, 3], 50), 2);
});

Deno.test("percentile() of no values is NaN", () => {
  assert.ok(Number.isNaN(percentile([], 50)));
});

Deno.test("median() sorts, averages the middle pair and skips non-finite values", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([NaN, 5, Infinity, 1]), 3);
  assert.ok(Number.isNaN(median([NaN])));
});

Deno.test("round() keeps the given decimal places", () => {
  assert.equal(round(1.23456, 2), 1.23);
  assert.equal(round(1.5, 0), 2);
  assert.equal(round(-0.0004, 3), -0);
});

Deno.test("summarize() leaves its input alone and rounds", () => {
  const samples = [5.55, 1.11, 3.33, 2.22, 4.44];
  const copy = [...samples];
  assert.deepEqual(summarize(samples, 1), { p50: 3.3, p95: 5.6, p99: 5.6, max: 5.6 });
  assert.deepEqual(samples, copy);
  assert.deepEqual(summarize([], 0), { p50: NaN, p95: NaN, p99: NaN, max: NaN });
});
