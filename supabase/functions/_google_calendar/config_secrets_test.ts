/** looksWeak(): the low-entropy check behind every secret's "looks guessable" problem. */

import { looksWeak } from "./config_secrets.ts";
import assert from "node:assert/strict";

Deno.test("looksWeak() flags few distinct bytes or a repeated pattern, not random bytes", () => {
  assert.equal(looksWeak(new Uint8Array(32)), true);
  assert.equal(looksWeak(new TextEncoder().encode("0123456789".repeat(4))), true);
  assert.equal(looksWeak(crypto.getRandomValues(new Uint8Array(32))), false);
});
