/**
 * Tokens at rest, without a stack: a ciphertext decrypts only as the row and column it was
 * written for, under a key we still hold, and rotation keeps old rows readable.
 */

import assert from "node:assert/strict";
import { decodeProtectedHeader } from "jose";
import { decryptToken, encryptToken, type Keyring, TokenDecryptError } from "./token_crypto.ts";

const USER = "6f1c2b7e-5d4a-4c3b-9a8f-0e1d2c3b4a59";
const OTHER = "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d";

function key(kid: string) {
  return { kid, key: crypto.getRandomValues(new Uint8Array(32)) };
}
const k1 = key("k1");
const k2 = key("k2");
const ring: Keyring = { current: k1, keys: [k1] };
const access = { userId: USER, field: "access_token" } as const;

Deno.test("encryptToken() writes a compact JWE with the key id, user and field, not the plaintext", async () => {
  const jwe = await encryptToken(ring, "ya29.secret-access-token", access);
  assert.ok(!jwe.includes("ya29"), "no plaintext");
  assert.equal(jwe.split(".").length, 5);
  assert.deepEqual(decodeProtectedHeader(jwe), {
    alg: "dir",
    enc: "A256GCM",
    kid: "k1",
    uid: USER,
    fld: "access_token",
  });
  assert.equal(await decryptToken(ring, jwe, access), "ya29.secret-access-token");
  assert.notEqual(await encryptToken(ring, "ya29.secret-access-token", access), jwe, "fresh IV");
});

Deno.test("decryptToken() refuses a ciphertext moved to another user's row or the other column", async () => {
  const jwe = await encryptToken(ring, "token", access);
  await assert.rejects(
    decryptToken(ring, jwe, { userId: OTHER, field: "access_token" }),
    TokenDecryptError,
  );
  await assert.rejects(
    decryptToken(ring, jwe, { userId: USER, field: "refresh_token" }),
    TokenDecryptError,
  );
});

Deno.test("decryptToken() refuses a tampered header, ciphertext or tag, an unknown key and junk", async () => {
  const jwe = await encryptToken(ring, "token", access);
  const [header, , iv, ciphertext, tag] = jwe.split(".") as string[];
  const flip = (s: string) => s.slice(0, 2) + (s[2] === "A" ? "B" : "A") + s.slice(3);
  // The header re-encoded for another user: the AAD no longer matches.
  const moved = btoa(
    JSON.stringify({ alg: "dir", enc: "A256GCM", kid: "k1", uid: OTHER, fld: "access_token" }),
  )
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  for (
    const bad of [
      `${moved}..${iv}.${ciphertext}.${tag}`,
      `${header}..${iv}.${flip(ciphertext!)}.${tag}`,
      `${header}..${iv}.${ciphertext}.${flip(tag!)}`,
      "not a jwe",
      "",
    ]
  ) {
    await assert.rejects(
      decryptToken(ring, bad, {
        userId: bad.startsWith(moved) ? OTHER : USER,
        field: "access_token",
      }),
      TokenDecryptError,
    );
  }
  await assert.rejects(decryptToken({ current: k2, keys: [k2] }, jwe, access), TokenDecryptError);
});

Deno.test("rotation: the new key encrypts, the old one still decrypts", async () => {
  const old = await encryptToken(ring, "old", access);
  const rotated: Keyring = { current: k2, keys: [k2, k1] };
  const fresh = await encryptToken(rotated, "new", access);
  assert.equal(decodeProtectedHeader(fresh).kid, "k2");
  assert.equal(await decryptToken(rotated, old, access), "old");
  assert.equal(await decryptToken(rotated, fresh, access), "new");
});
