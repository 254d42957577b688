import assert from "node:assert/strict";
import { bulkEmail, bulkRefreshToken, isBulkBatchId, parseBulkRefreshToken } from "./bulk.ts";

Deno.test("bulkRefreshToken() round-trips through parseBulkRefreshToken()", () => {
  const token = bulkRefreshToken("b1", 99_999);
  assert.equal(token, "1//bulk.b1.99999");
  assert.deepEqual(parseBulkRefreshToken(token), { batchId: "b1", index: 99_999 });
  assert.equal(bulkEmail("b1", 7), "bulk.b1.7@example.com");
});

Deno.test("parseBulkRefreshToken() refuses ordinary tokens and non-canonical indexes", () => {
  for (
    const token of ["1//0gabc", "1//bulk.b1.01", "1//bulk.B1.1", "1//bulk.b1.-1", "x1//bulk.b1.1"]
  ) {
    assert.equal(parseBulkRefreshToken(token), undefined, token);
  }
});

Deno.test("isBulkBatchId() allows 1-32 lower-case letters and digits", () => {
  assert.equal(isBulkBatchId("bench100k"), true);
  assert.equal(isBulkBatchId(""), false);
  assert.equal(isBulkBatchId("has.dot"), false);
  assert.equal(isBulkBatchId("a".repeat(33)), false);
});
