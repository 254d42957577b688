import assert from "node:assert/strict";
import { decodeBasic, normaliseEmail, redirectWith } from "./http.ts";

Deno.test("decodeBasic() form-decodes both halves (RFC 6749 §2.3.1)", () => {
  assert.deepEqual(decodeBasic(btoa("id%3A1:s+e%2Bc")), { id: "id:1", secret: "s e+c" });
  assert.equal(decodeBasic(btoa("no-colon")), undefined);
  assert.equal(decodeBasic("***"), undefined);
});

Deno.test("redirectWith() appends only defined params", () => {
  const response = redirectWith("https://app.example/cb?x=1", { code: "c", state: undefined });
  assert.equal(response.status, 302);
  assert.equal(response.headers.get("location"), "https://app.example/cb?x=1&code=c");
});

Deno.test("normaliseEmail() trims and lower-cases", () => {
  assert.equal(normaliseEmail("  Ada@Example.COM "), "ada@example.com");
});
