/**
 * The OAuth state, without a stack: what signState puts in it (no user id), and every forgery
 * verifyState refuses. Each forgery starts from a state that verifies, so only the property under
 * test differs. (Moved down from the HTTP hostile table, which keeps the HTTP-level cases.)
 */

import assert from "node:assert/strict";
import { base64url, decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import { AppError } from "./errors.ts";
import {
  importStateKey,
  signState,
  STATE_TYP,
  stateBelongsTo,
  type StateKey,
  userBinding,
  verifyState,
} from "./oauth_state.ts";

const SECRET = new TextEncoder().encode("a state secret for the unit tests, 32+ bytes long");
const RAW_KEY: StateKey = {
  secret: SECRET,
  issuer: "https://abc.supabase.co/functions/v1/google-connect",
  audience: "https://abc.supabase.co/functions/v1/google-callback",
};
const USER = "6f1c2b7e-5d4a-4c3b-9a8f-0e1d2c3b4a59";
const OTHER = "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d";
const JTI = "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a";

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `an AppError, got ${error}`);
    return error.code;
  }
  return "accepted";
}

const enc = (value: unknown) => base64url.encode(JSON.stringify(value));

/** A state google-connect would sign, and its claims for tampering. */
async function genuine(): Promise<{ state: string; claims: Record<string, unknown> }> {
  const { state } = await signState(RAW_KEY, { userId: USER, jti: JTI, ttlSeconds: 600 });
  return { state, claims: decodeJwt(state) as Record<string, unknown> };
}

/** Signs `claims` with HS256 under the right secret unless told otherwise. */
function sign(
  claims: Record<string, unknown>,
  options: { alg?: string; typ?: string; key?: CryptoKey | Uint8Array } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? "HS256", typ: options.typ ?? STATE_TYP })
    .sign(options.key ?? SECRET);
}

Deno.test("signState() names the flow and binds the user without carrying the user id", async () => {
  const { state, claims } = await genuine();
  assert.equal(claims.sub, undefined, "no sub");
  assert.equal(claims.jti, JTI);
  assert.ok(!state.includes(USER) && !atob(state.split(".")[1]!).includes(USER), "no user id");
  const verified = await verifyState(RAW_KEY, state);
  assert.equal(verified.jti, JTI);
  assert.equal(await stateBelongsTo(RAW_KEY, verified, USER), true);
  assert.equal(await stateBelongsTo(RAW_KEY, verified, USER.toUpperCase()), true, "any case");
});

Deno.test("stateBelongsTo() refuses a correctly signed state for another user's flow", async () => {
  const { state } = await genuine();
  const verified = await verifyState(RAW_KEY, state);
  assert.equal(await stateBelongsTo(RAW_KEY, verified, OTHER), false);
  // The binding is keyed and mixed with the jti: the same user's two links share nothing.
  const other = await userBinding(RAW_KEY, { jti: crypto.randomUUID(), userId: USER });
  assert.notEqual(other, verified.userBinding);
});

Deno.test("verifyState() works with the imported CryptoKey as with the raw secret", async () => {
  const key = await importStateKey({ ...RAW_KEY, secret: new Uint8Array(SECRET) });
  const { state } = await signState(key, { userId: USER, jti: JTI, ttlSeconds: 600 });
  assert.equal((await verifyState(RAW_KEY, state)).jti, JTI);
  assert.equal(await stateBelongsTo(key, await verifyState(key, state), USER), true);
});

Deno.test("verifyState() calls an expired state state_expired, even correctly signed", async () => {
  const { state } = await signState(RAW_KEY, {
    userId: USER,
    jti: JTI,
    ttlSeconds: 600,
    now: new Date(Date.now() - 3600_000),
  });
  assert.equal(await codeOf(verifyState(RAW_KEY, state)), "state_expired");
});

Deno.test("verifyState() refuses every forgery as state_invalid", async () => {
  const { state, claims } = await genuine();
  const [header, payload, signature] = state.split(".") as [string, string, string];
  const flip = (text: string) => text.slice(0, 5) + (text[5] === "A" ? "B" : "A") + text.slice(6);
  const otherSecret = new TextEncoder().encode("another secret that is at least thirty-two bytes");
  const ecKey = (await generateKeyPair("ES256")).privateKey as unknown as CryptoKey;
  const embedded = await exportJWK(
    (await generateKeyPair("ES256", { extractable: true })).publicKey,
  );
  const crit = async () => {
    // jose refuses to sign an unknown critical header: sign this one by hand.
    const input = `${enc({ alg: "HS256", typ: STATE_TYP, crit: ["x-must"], "x-must": 1 })}.${
      enc(claims)
    }`;
    const key = await crypto.subtle.importKey(
      "raw",
      SECRET,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
    return `${input}.${base64url.encode(new Uint8Array(mac))}`;
  };
  const forgeries: Record<string, () => Promise<string> | string> = {
    "empty": () => "",
    "truncated": () => state.slice(0, -10),
    "without its signature": () => `${header}.${payload}`,
    "header only": () => header,
    "one signature character changed": () => `${header}.${payload}.${flip(signature)}`,
    "payload with another binding, signature kept": () =>
      `${header}.${enc({ ...claims, ubd: base64url.encode(new Uint8Array(32)) })}.${signature}`,
    "re-signed with another secret": () => sign(claims, { key: otherSecret }),
    "alg none": () => `${enc({ alg: "none", typ: STATE_TYP })}.${payload}.`,
    "HS512 with the right secret": () => sign(claims, { alg: "HS512" }),
    "ES256 with a stranger's key": () => sign(claims, { alg: "ES256", key: ecKey }),
    "ES256 header with an embedded public key": () =>
      `${enc({ alg: "ES256", typ: STATE_TYP, jwk: embedded })}.${payload}.${signature}`,
    "typ JWT": () => sign(claims, { typ: "JWT" }),
    "another audience": () => sign({ ...claims, aud: "https://evil.example/cb" }),
    "another issuer": () => sign({ ...claims, iss: "https://evil.example/connect" }),
    "SQL-looking jti": () => sign({ ...claims, jti: "x'; delete from flows; --" }),
    "no jti": () => sign({ ...claims, jti: undefined }),
    "no user binding": () => sign({ ...claims, ubd: undefined }),
    "a user binding of the wrong shape": () => sign({ ...claims, ubd: "' OR 1=1 --" }),
    "a user id (sub), as older links carried": () => sign({ ...claims, sub: USER }),
    "not valid before the future": () =>
      sign({ ...claims, nbf: Math.floor(Date.now() / 1000) + 3600 }),
    "no expiry": () => sign({ ...claims, exp: undefined }),
    "unknown critical header": crit,
    "over 2 KB": () => sign({ ...claims, pad: "p".repeat(2100) }),
    "deeply nested claims, another secret": () =>
      sign({ ...claims, x: JSON.parse("[".repeat(200) + "]".repeat(200)) }, { key: otherSecret }),
    "JSON instead of a JWT": () => JSON.stringify(claims),
    "unicode and control characters": () => `ẞtäte\u0000\u0007\u202e${state}`,
  };
  const wrong: string[] = [];
  for (const [name, forge] of Object.entries(forgeries)) {
    const code = await codeOf(verifyState(RAW_KEY, await forge()));
    if (code !== "state_invalid") wrong.push(`${name}: ${code}`);
  }
  assert.deepEqual(wrong, []);
  // The control: the untouched state verifies.
  assert.equal((await verifyState(RAW_KEY, state)).jti, JTI);
});
