/**
 * Tokens at rest: compact JWE (dir, A256GCM) with the key id, the user id and the field in the
 * protected header. The header is the AEAD's associated data, so a ciphertext copied to another
 * user's row, or from one column to the other, fails to decrypt as that row's.
 */

import { compactDecrypt, CompactEncrypt } from "jose";
import type { EncryptionKey } from "./config.ts";

export type TokenField = "access_token" | "refresh_token";

export interface Keyring {
  readonly current: EncryptionKey;
  readonly keys: readonly EncryptionKey[];
}

/** Encrypts `plaintext` for `userId`'s `field` with the current key. */
export function encryptToken(
  keyring: Keyring,
  plaintext: string,
  binding: { userId: string; field: TokenField },
): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(plaintext))
    .setProtectedHeader({
      alg: "dir",
      enc: "A256GCM",
      kid: keyring.current.kid,
      uid: binding.userId,
      fld: binding.field,
    })
    .encrypt(keyring.current.key);
}

export class TokenDecryptError extends Error {
  constructor(reason: string) {
    super(`stored token could not be decrypted: ${reason}`);
    this.name = "TokenDecryptError";
  }
}

/** Decrypts a value written by encryptToken for the same user and field, with any known key. */
export async function decryptToken(
  keyring: Keyring,
  jwe: string,
  binding: { userId: string; field: TokenField },
): Promise<string> {
  let result;
  try {
    result = await compactDecrypt(jwe, (header) => {
      const key = keyring.keys.find((k) => k.kid === header.kid);
      if (!key) throw new TokenDecryptError("unknown key id");
      return key.key;
    }, { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
  } catch (error) {
    if (error instanceof TokenDecryptError) throw error;
    throw new TokenDecryptError("not a valid ciphertext for our keys");
  }
  const header = result.protectedHeader as { uid?: unknown; fld?: unknown };
  if (header.uid !== binding.userId || header.fld !== binding.field) {
    throw new TokenDecryptError("bound to another row or field");
  }
  return new TextDecoder().decode(result.plaintext);
}
