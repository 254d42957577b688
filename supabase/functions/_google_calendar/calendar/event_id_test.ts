import assert from "node:assert/strict";
import { base32hex, eventIdFor } from "./event_id.ts";

Deno.test("event id: base32hex of RFC 4648's test vectors, lowercase and unpadded", () => {
  const enc = (s: string) => base32hex(new TextEncoder().encode(s));
  assert.equal(enc("f"), "co");
  assert.equal(enc("fo"), "cpng");
  assert.equal(enc("foobar"), "cpnmuoj1e8");
});

Deno.test("event id: stable per user, calendar and request; a valid Google id", async () => {
  const a = await eventIdFor("u1", "primary", "req-1");
  assert.equal(a, await eventIdFor("u1", "primary", "req-1"));
  assert.notEqual(a, await eventIdFor("u2", "primary", "req-1"));
  assert.notEqual(a, await eventIdFor("u1", "primary", "req-2"));
  assert.match(a, /^[a-v0-9]{32}$/);
});
