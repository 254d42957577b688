/**
 * The secret-bearing configuration values, parsed and checked for obvious weakness: Supabase's
 * keys, the state secret, the token encryption keys, the bot's API keys and its webhook secret.
 * Pure functions of their text; loadConfig (config.ts) collects the problems they report.
 */

import { base64url } from "jose";
import { checkUrl } from "./config_values.ts";

/** One key of TOKEN_ENCRYPTION_KEY: its id (in every ciphertext's header) and 32 bytes. */
export interface EncryptionKey {
  readonly kid: string;
  readonly key: Uint8Array;
}

/** The bot's webhook: where lifecycle events go, and the Standard Webhooks secret signing them. */
export interface WebhookSettings {
  readonly url: string;
  /** `whsec_` + base64 of the key, as the Standard Webhooks spec and its libraries take it. */
  readonly secret: string;
}

/** SUPABASE_SECRET_KEYS is a JSON object of name → sb_secret_… key, as Supabase injects it. */
export function parseSecretKeys(value: string | null, problems: string[]): string[] {
  if (!value) return [];
  try {
    const parsed = JSON.parse(value);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      const keys = Object.values(parsed).filter((v): v is string => typeof v === "string" && !!v);
      if (keys.length > 0) return keys;
    }
  } catch {
    // Reported below.
  }
  problems.push("SUPABASE_SECRET_KEYS must be a JSON object of key names to secret keys");
  return [];
}

/**
 * OAUTH_STATE_SECRET: at least 32 bytes, not guessable, and neither the Supabase JWT secret nor a
 * Supabase API key (a secret shared with another system signs that system's tokens too).
 */
export function parseStateSecret(
  value: string,
  jwtSecret: string | undefined,
  serviceCredentials: readonly string[],
  problems: string[],
): Uint8Array<ArrayBuffer> {
  const secret = new TextEncoder().encode(value);
  if (value && secret.length < 32) {
    problems.push("OAUTH_STATE_SECRET must be at least 32 bytes");
  } else if (value && looksWeak(secret)) {
    problems.push(
      "OAUTH_STATE_SECRET looks guessable (too few distinct characters, or a " +
        "repeated pattern); use e.g. `openssl rand -base64 48`",
    );
  }
  if (value && value === jwtSecret) {
    problems.push("OAUTH_STATE_SECRET must not be the Supabase JWT secret");
  }
  if (value && serviceCredentials.includes(value)) {
    problems.push("OAUTH_STATE_SECRET must not be a Supabase API key");
  }
  return secret;
}

/**
 * TOKEN_ENCRYPTION_KEY is `kid:base64url(32 bytes)`, or several separated by commas: the first
 * encrypts, all decrypt, so a key can be rotated in without making stored rows unreadable.
 */
export function parseEncryptionKeys(value: string, problems: string[]): EncryptionKey[] {
  if (!value) return [];
  const keys: EncryptionKey[] = [];
  for (const part of value.split(",")) {
    const [kid, encoded, ...rest] = part.trim().split(":");
    const key = encoded ? decodeBase64Url(encoded) : null;
    if (!kid || !/^[A-Za-z0-9._-]{1,32}$/.test(kid) || rest.length > 0 || key?.length !== 32) {
      problems.push(
        "TOKEN_ENCRYPTION_KEY must be kid:base64url-of-32-random-bytes (comma-separated to rotate)",
      );
      return [];
    }
    if (looksWeak(key)) {
      problems.push(
        `TOKEN_ENCRYPTION_KEY key ${kid} looks guessable (e.g. all zeros); use 32 random bytes`,
      );
      return [];
    }
    if (keys.some((k) => k.kid === kid)) {
      problems.push(`TOKEN_ENCRYPTION_KEY names key id ${kid} twice`);
      return [];
    }
    keys.push({ kid, key });
  }
  return keys;
}

/**
 * Obviously low entropy: fewer than 10 distinct bytes (a random 32-byte key has about 30), or a
 * short pattern repeated. Catches placeholders and typed-in keys; it is no strength meter.
 */
export function looksWeak(bytes: Uint8Array): boolean {
  if (new Set(bytes).size < 10) return true;
  for (let period = 1; period <= bytes.length / 2; period++) {
    let repeats = true;
    for (let i = period; i < bytes.length && repeats; i++) repeats = bytes[i] === bytes[i - period];
    if (repeats) return true;
  }
  return false;
}

/**
 * BOT_API_KEYS: comma-separated opaque keys (several, to rotate), each at least 32 characters of
 * something random, and none equal to a Supabase key (they must not open PostgREST).
 */
export function parseBotApiKeys(
  value: string | null,
  serviceCredentials: readonly string[],
  problems: string[],
): string[] {
  if (!value) return [];
  const keys = value.split(",").map((k) => k.trim()).filter(Boolean);
  for (const key of keys) {
    if (key.length < 32 || key.length > 512 || !/^[\x21-\x7e]+$/.test(key)) {
      problems.push("BOT_API_KEYS must be comma-separated keys of 32 to 512 printable characters");
      return [];
    }
    if (looksWeak(new TextEncoder().encode(key))) {
      problems.push("BOT_API_KEYS has a key that looks guessable; use e.g. `openssl rand -hex 32`");
      return [];
    }
    if (serviceCredentials.includes(key)) {
      problems.push("BOT_API_KEYS must not repeat a Supabase API key");
      return [];
    }
  }
  return keys;
}

/** BOT_WEBHOOK_URL and BOT_WEBHOOK_SECRET: both or neither. */
export function parseWebhooks(
  url: string | null,
  secret: string | null,
  problems: string[],
): WebhookSettings | null {
  if (!url && !secret) return null;
  if (!url || !secret) {
    problems.push("BOT_WEBHOOK_URL and BOT_WEBHOOK_SECRET must be set together (or neither)");
    return null;
  }
  const checked = checkUrl("BOT_WEBHOOK_URL", url, problems);
  const key = secret.startsWith("whsec_") ? decodeBase64(secret.slice("whsec_".length)) : null;
  if (!key || key.length < 24 || key.length > 64) {
    problems.push("BOT_WEBHOOK_SECRET must be whsec_ followed by base64 of 24 to 64 random bytes");
    return null;
  }
  if (looksWeak(key)) {
    problems.push("BOT_WEBHOOK_SECRET looks guessable; use 32 random bytes");
    return null;
  }
  return { url: checked, secret };
}

function decodeBase64(value: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return null;
  try {
    return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function decodeBase64Url(value: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]+$/.test(value)) return null;
  try {
    return base64url.decode(value);
  } catch {
    return null;
  }
}
