/** Small crypto helpers: opaque tokens, PKCE and stable Google subject ids. */

/** RFC 7636 charset and length for a code_verifier (and a `plain` code_challenge). */
export const PKCE_VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;
/** An S256 code_challenge is base64url(sha256) without padding: always 43 characters. */
export const PKCE_S256_CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Encodes bytes as unpadded base64url. */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** A random opaque token with Google's recognisable prefix (`ya29.`, `1//`, `4/0A`). */
export function randomToken(prefix: string, byteLength = 48): string {
  return prefix + base64url(crypto.getRandomValues(new Uint8Array(byteLength)));
}

/** SHA-256 of a UTF-8 string. */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** The S256 code_challenge for a verifier. */
export async function s256Challenge(verifier: string): Promise<string> {
  return base64url(await sha256(verifier));
}

/** OIDC `at_hash`: base64url of the left half of SHA-256(access_token). */
export async function accessTokenHash(accessToken: string): Promise<string> {
  return base64url((await sha256(accessToken)).slice(0, 16));
}

/**
 * A 21-digit numeric `sub` derived from the email, so the same person keeps the same id across
 * emulator restarts (Google's ids are 21 digits and start with 1).
 */
export async function deriveSub(email: string): Promise<string> {
  const digest = await sha256(`google-emulator-sub:${email}`);
  let value = 0n;
  for (const byte of digest.slice(0, 16)) value = (value << 8n) | BigInt(byte);
  return "1" + (value % 10n ** 20n).toString().padStart(20, "0");
}
