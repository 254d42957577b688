/**
 * Configuration, read once from the environment and validated. Every problem is reported in one
 * error naming each variable, so a misconfigured deploy fails at boot, not on a person's click.
 */

import {
  type EncryptionKey,
  parseBotApiKeys,
  parseEncryptionKeys,
  parseSecretKeys,
  parseStateSecret,
  parseWebhooks,
  type WebhookSettings,
} from "./config_secrets.ts";
import {
  checkUrl,
  deepFreeze,
  parseClientIds,
  parseOrigins,
  parsePush,
  parseScopes,
  wholeNumber,
} from "./config_values.ts";
import { GOOGLE_DEFAULTS, googleEndpointsAt } from "./google_facts.ts";
import { RISC_CONFIGURATION_PATH } from "./risc_facts.ts";

// The value parsers live beside this module; their names stay importable from here.
export { type EncryptionKey, looksWeak, type WebhookSettings } from "./config_secrets.ts";
export { parseScopes, PUSH_FUNCTION } from "./config_values.ts";

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

  const stateSecret = parseStateSecret(
    required("OAUTH_STATE_SECRET"),
    env.SUPABASE_JWT_SECRET?.trim(),
    serviceCredentials,
    problems,
  );

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

let cached: Config | undefined;

/** The process's configuration, read from Deno.env on first use. */
export function getConfig(): Config {
  cached ??= loadConfig(Deno.env.toObject());
  return cached;
}
