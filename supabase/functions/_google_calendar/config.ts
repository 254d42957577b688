/**
 * Configuration, read once from the environment and validated. Every problem is reported in one
 * error naming each variable, so a misconfigured deploy fails at boot, not on a person's click.
 */

import { base64url } from "jose";
import {
  GOOGLE_DEFAULTS,
  googleEndpointsAt,
  hasCalendarScope,
  KNOWN_CALENDAR_SCOPES,
  REQUESTED_SCOPES,
} from "./google_facts.ts";
import { RISC_CONFIGURATION_PATH } from "./risc_facts.ts";

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

/** The validated configuration of every function; frozen. */
export interface Config {
  readonly supabaseUrl: string;
  /** The key the functions use for PostgREST: service_role JWT, else the first secret key. */
  readonly adminKey: string;
  /** Every credential that identifies the bot's server (compared in constant time). */
  readonly serviceCredentials: readonly string[];
  /** BOT_API_KEYS: opaque keys that let the bot call the functions, and nothing in PostgREST. */
  readonly botApiKeys: readonly string[];
  readonly auth: {
    readonly issuer: string;
    readonly jwksUrl: URL;
    /**
     * The public API key (SUPABASE_ANON_KEY, else the first of SUPABASE_PUBLISHABLE_KEYS) sent
     * beside an HS256 user token to `GET /auth/v1/user`; never a service credential. Null: no
     * HS256 token can be verified.
     */
    readonly publicApiKey: string | null;
  };
  readonly google: {
    readonly clientId: string;
    readonly clientSecret: string;
    readonly redirectUri: string;
    readonly issuer: string;
    readonly authorizationEndpoint: string;
    readonly tokenEndpoint: string;
    readonly revocationEndpoint: string;
    readonly apiBaseUrl: string;
    /** Plain http is allowed only for a loopback emulator, never for Google. */
    readonly allowInsecureRequests: boolean;
    /** What a consent link asks for (GOOGLE_SCOPES): `openid email` and the Calendar scopes. */
    readonly scopes: readonly string[];
  };
  readonly state: {
    readonly secret: Uint8Array<ArrayBuffer>;
    readonly issuer: string;
    readonly audience: string;
    readonly ttlSeconds: number;
  };
  readonly encryption: { readonly current: EncryptionKey; readonly keys: readonly EncryptionKey[] };
  /** Browser origins allowed to call the per-user functions with a user's token (CORS). */
  readonly allowedOrigins: readonly string[];
  /** Where the callback sends the person; null means a short plain-text answer instead. */
  readonly resultPageUrl: string | null;
  readonly httpTimeoutMs: number;
  /** Null when BOT_WEBHOOK_URL and BOT_WEBHOOK_SECRET are both unset: no events are queued. */
  readonly webhooks: WebhookSettings | null;
  /** Cross-Account Protection (RISC): where Google's SETs are checked against. */
  readonly risc: {
    /** Google's RISC configuration document (under GOOGLE_OAUTH_BASE_URL for an emulator). */
    readonly configurationUrl: string;
    /** The `aud` values accepted: GOOGLE_CLIENT_ID plus GOOGLE_RISC_EXTRA_CLIENT_IDS. */
    readonly audiences: readonly string[];
  };
  readonly maintenance: {
    /** Refresh a grant whose refresh token was not used for this many days (KEEPALIVE_DAYS). */
    readonly keepaliveDays: number;
    /** Warn (`google_calendar.expiring`) this long before a time-limited grant lapses. */
    readonly expiringNoticeHours: number;
    /** The most Google calls one maintenance pass may make (MAINTENANCE_GOOGLE_CALL_BUDGET). */
    readonly googleCallBudget: number;
    /** Delivered webhook events are purged after this many days (WEBHOOK_RETENTION_DAYS). */
    readonly webhookRetentionDays: number;
  };
  /**
   * Push notifications (issue 23): the public https address Google POSTs channel messages to
   * (google-calendar-push). Null: no channels are opened (GOOGLE_PUSH_URL=off, or no public
   * https address is known).
   */
  readonly push: { readonly address: string } | null;
}

/** Thrown by loadConfig with every problem found, so one deploy fixes them all. */
export class ConfigError extends Error {
  /** One line per bad or missing variable, each naming it (never its value). */
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n- ${problems.join("\n- ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

const STATE_TTL_SECONDS = 600; // Google's codes live 10 minutes; a link need not outlive them.

/** Parses and validates `env`; throws one ConfigError that names every bad or missing variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) {
      problems.push(`${name} is missing`);
      return "";
    }
    return value;
  };
  const optional = (name: string): string | null => env[name]?.trim() || null;

  const supabaseUrl = checkUrl("SUPABASE_URL", required("SUPABASE_URL"), problems);
  const serviceRoleKey = optional("SUPABASE_SERVICE_ROLE_KEY");
  const secretKeys = parseSecretKeys(optional("SUPABASE_SECRET_KEYS"), problems);
  const serviceCredentials = [serviceRoleKey, ...secretKeys].filter((k): k is string => !!k);
  if (serviceCredentials.length === 0) {
    problems.push("SUPABASE_SERVICE_ROLE_KEY is missing (or set SUPABASE_SECRET_KEYS)");
  }

  const oauthBase = optional("GOOGLE_OAUTH_BASE_URL");
  const oauthBaseUrl = oauthBase ? checkUrl("GOOGLE_OAUTH_BASE_URL", oauthBase, problems) : "";
  const apiBase = optional("GOOGLE_API_BASE_URL");
  const apiBaseUrl = apiBase
    ? checkUrl("GOOGLE_API_BASE_URL", apiBase, problems)
    : GOOGLE_DEFAULTS.apiBaseUrl;
  const redirectUri = checkUrl("GOOGLE_REDIRECT_URI", required("GOOGLE_REDIRECT_URI"), problems);
  const resultPageValue = optional("GOOGLE_RESULT_PAGE_URL");
  const resultPage = resultPageValue
    ? checkUrl("GOOGLE_RESULT_PAGE_URL", resultPageValue, problems)
    : null;

  const stateSecretText = required("OAUTH_STATE_SECRET");
  const stateSecret = new TextEncoder().encode(stateSecretText);
  if (stateSecretText && stateSecret.length < 32) {
    problems.push("OAUTH_STATE_SECRET must be at least 32 bytes");
  } else if (stateSecretText && looksWeak(stateSecret)) {
    problems.push(
      "OAUTH_STATE_SECRET looks guessable (too few distinct characters, or a " +
        "repeated pattern); use e.g. `openssl rand -base64 48`",
    );
  }
  if (stateSecretText && stateSecretText === env.SUPABASE_JWT_SECRET?.trim()) {
    problems.push("OAUTH_STATE_SECRET must not be the Supabase JWT secret");
  }
  if (stateSecretText && serviceCredentials.includes(stateSecretText)) {
    problems.push("OAUTH_STATE_SECRET must not be a Supabase API key");
  }

  const allowedOrigins = parseOrigins(optional("ALLOWED_ORIGINS"), problems);
  const keys = parseEncryptionKeys(required("TOKEN_ENCRYPTION_KEY"), problems);
  const clientId = required("GOOGLE_CLIENT_ID");
  const clientSecret = required("GOOGLE_CLIENT_SECRET");
  const extraClientIds = parseClientIds(optional("GOOGLE_RISC_EXTRA_CLIENT_IDS"), problems);
  const timeout = optional("HTTP_TIMEOUT_MS");
  const httpTimeoutMs = timeout === null ? 10_000 : Number(timeout);
  if (!Number.isInteger(httpTimeoutMs) || httpTimeoutMs < 100 || httpTimeoutMs > 60_000) {
    problems.push("HTTP_TIMEOUT_MS must be a whole number of milliseconds from 100 to 60000");
  }

  // Not SUPABASE_*: `supabase secrets set` and `functions serve` skip names Supabase reserves.
  const authIssuerValue = optional("AUTH_ISSUER");
  const authIssuer = authIssuerValue
    ? checkUrl("AUTH_ISSUER", authIssuerValue, problems)
    : `${supabaseUrl}/auth/v1`;
  const jwksUrlValue = optional("AUTH_JWKS_URL");
  const jwksUrl = jwksUrlValue
    ? checkUrl("AUTH_JWKS_URL", jwksUrlValue, problems)
    : `${supabaseUrl}/auth/v1/.well-known/jwks.json`;

  const scopes = parseScopes(optional("GOOGLE_SCOPES"), problems);
  // Publishable keys come as a JSON object of names to keys, like the secret keys.
  const publicApiKey = optional("SUPABASE_ANON_KEY") ??
    (optional("SUPABASE_PUBLISHABLE_KEYS")
      ? parseSecretKeys(optional("SUPABASE_PUBLISHABLE_KEYS"), [])[0] ?? null
      : null);
  if (publicApiKey && serviceCredentials.includes(publicApiKey)) {
    problems.push("SUPABASE_ANON_KEY must not be a service credential");
  }

  const botApiKeys = parseBotApiKeys(optional("BOT_API_KEYS"), serviceCredentials, problems);
  const webhooks = parseWebhooks(
    optional("BOT_WEBHOOK_URL"),
    optional("BOT_WEBHOOK_SECRET"),
    problems,
  );
  const maintenance = {
    keepaliveDays: wholeNumber(
      "KEEPALIVE_DAYS",
      optional("KEEPALIVE_DAYS"),
      30,
      [1, 170],
      problems,
    ),
    expiringNoticeHours: wholeNumber(
      "EXPIRING_NOTICE_HOURS",
      optional("EXPIRING_NOTICE_HOURS"),
      48,
      [1, 24 * 30],
      problems,
    ),
    googleCallBudget: wholeNumber(
      "MAINTENANCE_GOOGLE_CALL_BUDGET",
      optional("MAINTENANCE_GOOGLE_CALL_BUDGET"),
      200,
      [0, 10_000],
      problems,
    ),
    webhookRetentionDays: wholeNumber(
      "WEBHOOK_RETENTION_DAYS",
      optional("WEBHOOK_RETENTION_DAYS"),
      7,
      [1, 365],
      problems,
    ),
  };

  const push = parsePush(optional("GOOGLE_PUSH_URL"), supabaseUrl, apiBaseUrl, problems);

  if (problems.length > 0) throw new ConfigError(problems);

  const google = oauthBaseUrl ? googleEndpointsAt(oauthBaseUrl) : GOOGLE_DEFAULTS;
  return deepFreeze({
    supabaseUrl,
    adminKey: serviceCredentials[0]!,
    serviceCredentials,
    botApiKeys,
    auth: {
      issuer: authIssuer,
      jwksUrl: new URL(jwksUrl),
      publicApiKey,
    },
    google: {
      clientId,
      clientSecret,
      redirectUri,
      issuer: google.issuer,
      authorizationEndpoint: google.authorizationEndpoint,
      tokenEndpoint: google.tokenEndpoint,
      revocationEndpoint: google.revocationEndpoint,
      apiBaseUrl,
      allowInsecureRequests: new URL(google.tokenEndpoint).protocol === "http:" ||
        new URL(apiBaseUrl).protocol === "http:",
      scopes,
    },
    state: {
      secret: stateSecret,
      issuer: `${supabaseUrl}/functions/v1/google-connect`,
      audience: redirectUri,
      ttlSeconds: STATE_TTL_SECONDS,
    },
    encryption: { current: keys[0]!, keys },
    allowedOrigins,
    resultPageUrl: resultPage,
    httpTimeoutMs,
    webhooks,
    risc: {
      configurationUrl: (oauthBaseUrl || GOOGLE_DEFAULTS.issuer) + RISC_CONFIGURATION_PATH,
      audiences: [...new Set([clientId, ...extraClientIds])],
    },
    maintenance,
    push,
  });
}

/** The push function's name: its public address ends with it. */
export const PUSH_FUNCTION = "google-calendar-push";

/**
 * GOOGLE_PUSH_URL: `off`, or the push function's public address. Unset, it is
 * SUPABASE_URL/functions/v1/google-calendar-push when SUPABASE_URL is https (a hosted project),
 * and push is off otherwise. Google delivers only to https with a valid certificate; plain http
 * is accepted for a loopback address only, and only when the API is an emulator's.
 */
function parsePush(
  value: string | null,
  supabaseUrl: string,
  apiBaseUrl: string,
  problems: string[],
): { address: string } | null {
  if (value?.toLowerCase() === "off") return null;
  if (value === null) {
    if (!supabaseUrl.startsWith("https://")) return null;
    return { address: `${supabaseUrl}/functions/v1/${PUSH_FUNCTION}` };
  }
  const address = checkUrl("GOOGLE_PUSH_URL", value, problems);
  if (address.startsWith("http:") && apiBaseUrl === GOOGLE_DEFAULTS.apiBaseUrl) {
    problems.push("GOOGLE_PUSH_URL must be https: Google delivers only to https addresses");
  }
  return address ? { address } : null;
}

/** Absolute URL without a trailing slash; http only on loopback (local stack, emulator). */
function checkUrl(name: string, value: string, problems: string[]): string {
  if (!value) return "";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name} is not a URL`);
    return "";
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (
    url.protocol !== "https:" && !(url.protocol === "http:" && loopback) &&
    !(url.protocol === "http:" && name === "SUPABASE_URL")
  ) {
    // SUPABASE_URL is http inside `supabase start` (http://kong:8000); the others never are.
    problems.push(`${name} must be https (http is accepted for loopback addresses only)`);
  }
  return value.replace(/\/+$/, "");
}

/**
 * GOOGLE_SCOPES: the Calendar scopes a consent link asks for, by short name (`calendar.events`,
 * `calendar.events.freebusy`, ...), space- or comma-separated; `openid email` are always added.
 * One of them must allow writing events (`calendar.events` or `calendar`): the kit's grant rule.
 */
export function parseScopes(value: string | null, problems: string[]): string[] {
  if (!value) return [...REQUESTED_SCOPES];
  const names = value.split(/[\s,]+/).filter(Boolean);
  const scopes: string[] = [];
  for (const name of names) {
    const scope = KNOWN_CALENDAR_SCOPES[name];
    if (!scope) {
      problems.push(
        `GOOGLE_SCOPES must list Calendar scopes among ${
          Object.keys(KNOWN_CALENDAR_SCOPES).join(", ")
        }`,
      );
      return [...REQUESTED_SCOPES];
    }
    if (!scopes.includes(scope)) scopes.push(scope);
  }
  if (!hasCalendarScope(scopes)) {
    problems.push("GOOGLE_SCOPES must include calendar.events (or calendar)");
  }
  return ["openid", "email", ...scopes];
}

/** ALLOWED_ORIGINS: comma-separated origins such as https://app.example.com; never `*`. */
function parseOrigins(value: string | null, problems: string[]): string[] {
  if (!value) return [];
  const origins = value.split(",").map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(origin);
    } catch {
      // Reported below.
    }
    if (!parsed || parsed.origin !== origin) {
      problems.push(
        "ALLOWED_ORIGINS must list origins like https://app.example.com, comma-separated",
      );
      return [];
    }
  }
  return origins;
}

/** SUPABASE_SECRET_KEYS is a JSON object of name → sb_secret_… key, as Supabase injects it. */
function parseSecretKeys(value: string | null, problems: string[]): string[] {
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
 * TOKEN_ENCRYPTION_KEY is `kid:base64url(32 bytes)`, or several separated by commas: the first
 * encrypts, all decrypt, so a key can be rotated in without making stored rows unreadable.
 */
function parseEncryptionKeys(value: string, problems: string[]): EncryptionKey[] {
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
function parseBotApiKeys(
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

/**
 * GOOGLE_RISC_EXTRA_CLIENT_IDS: the project's other OAuth client ids (Android, iOS, …),
 * comma-separated; Google addresses a SET to the client ids the account used.
 */
function parseClientIds(value: string | null, problems: string[]): string[] {
  if (!value) return [];
  const ids = value.split(",").map((id) => id.trim()).filter(Boolean);
  if (ids.some((id) => !/^[\x21-\x7e]{1,256}$/.test(id))) {
    problems.push("GOOGLE_RISC_EXTRA_CLIENT_IDS must be comma-separated OAuth client ids");
    return [];
  }
  return ids;
}

/** BOT_WEBHOOK_URL and BOT_WEBHOOK_SECRET: both or neither. */
function parseWebhooks(
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

function wholeNumber(
  name: string,
  value: string | null,
  fallback: number,
  [min, max]: [number, number],
  problems: string[],
): number {
  if (value === null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}`);
    return fallback;
  }
  return n;
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

function deepFreeze<T>(value: T): T {
  if (
    value && typeof value === "object" && !(value instanceof Uint8Array) && !(value instanceof URL)
  ) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

let cached: Config | undefined;

/** The process's configuration, read from Deno.env on first use. */
export function getConfig(): Config {
  cached ??= loadConfig(Deno.env.toObject());
  return cached;
}
