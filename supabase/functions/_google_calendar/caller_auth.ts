/**
 * Who is calling:
 * - the bot's server with one of its BOT_API_KEYS (`Authorization: Bearer <key>`), acting for
 *   any user: the recommended way, since these keys open nothing in PostgREST;
 * - the bot's server (or an operator) with the Supabase service credentials, acting for any user;
 * - a signed-in user, with their Supabase access token, acting for themself. Asymmetric tokens
 *   (ES256, RS256) are verified here against the project's JWKS; HS256 tokens (projects still on
 *   the legacy JWT secret, which no JWKS publishes) are verified by the Auth server
 *   (`GET /auth/v1/user`), after the same local checks of their claims.
 * Anything else is `unauthorized`.
 */

import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import type { Config } from "./config.ts";
import { AppError } from "./errors.ts";
import { UUID_PATTERN } from "./ids.ts";

/**
 * Who is calling, once authenticated. `bot` (a BOT_API_KEYS key) and `service` (Supabase service
 * credentials) have the same rights in the per-user functions; service-only operations (e.g.
 * google-maintenance) accept `service` alone.
 */
export type Caller = { kind: "service" } | { kind: "bot" } | { kind: "user"; userId: string };

/** Authenticates requests; builds once per process. */
export interface CallerVerifier {
  authenticate(req: Request): Promise<Caller>;
}

const MAX_CREDENTIAL_LENGTH = 8192;
const ASYMMETRIC_ALGS = ["ES256", "RS256"];
const CLOCK_TOLERANCE_SECONDS = 5;

/** The verifier for `config`'s credentials and Auth server; `fetch` is for tests. */
export function callerVerifierFor(
  config: Config,
  options: { fetch?: typeof fetch } = {},
): CallerVerifier {
  return createCallerVerifier({
    serviceCredentials: config.serviceCredentials,
    botApiKeys: config.botApiKeys,
    jwksUrl: config.auth.jwksUrl,
    issuer: config.auth.issuer,
    authUserUrl: new URL(`${config.supabaseUrl}/auth/v1/user`),
    // The Auth server (behind the API gateway) wants an API key beside the user's token; the
    // public one is enough, and a service credential must never travel with a stranger's token.
    ...(config.auth.publicApiKey ? { authApiKey: config.auth.publicApiKey } : {}),
    timeoutMs: config.httpTimeoutMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

/**
 * A verifier that knows `config`'s service credentials only (the scheduled and database-woken
 * functions): no user token verifies (every key lookup fails), and bot API keys are not service
 * credentials.
 */
export function serviceOnlyCallerVerifier(config: Config): CallerVerifier {
  return createCallerVerifier({
    serviceCredentials: config.serviceCredentials,
    jwksUrl: config.auth.jwksUrl,
    issuer: config.auth.issuer,
    timeoutMs: config.httpTimeoutMs,
    jwks: () => {
      throw new Error("this function takes the service credentials only");
    },
  });
}

/** Builds the verifier once per process: MACs of the keys and a cached JWKS. */
export function createCallerVerifier(options: {
  serviceCredentials: readonly string[];
  botApiKeys?: readonly string[];
  jwksUrl: URL;
  issuer: string;
  /** The Auth server's `GET /auth/v1/user`, which verifies HS256 user tokens. */
  authUserUrl?: URL;
  /** The public (anon or publishable) API key the gateway wants beside the token. */
  authApiKey?: string;
  timeoutMs: number;
  /** Tests may pass a local key set instead of fetching the JWKS. */
  jwks?: JWTVerifyGetKey;
  /** Tests may pass their own fetch for the Auth server. */
  fetch?: typeof fetch;
}): CallerVerifier {
  const known = macCredentials([
    ...options.serviceCredentials.map((value) => ({ value, kind: "service" as const })),
    ...(options.botApiKeys ?? []).map((value) => ({ value, kind: "bot" as const })),
  ]);
  const jwks = options.jwks ?? createRemoteJWKSet(options.jwksUrl, {
    timeoutDuration: options.timeoutMs,
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
  });
  const fetchAuth = options.fetch ?? fetch;

  /** Which kind of key `value` is, if any. */
  async function credentialKind(value: string): Promise<"service" | "bot" | null> {
    const { key, macs } = await known;
    const data = new TextEncoder().encode(value);
    let found: "service" | "bot" | null = null;
    // WebCrypto's HMAC verify compares in constant time; check every key, always, so timing
    // says nothing about which one (or which kind) matched.
    for (const mac of macs) {
      if (await crypto.subtle.verify("HMAC", key, mac.mac, data)) found ??= mac.kind;
    }
    return found;
  }

  /** The claims every user token must have, whoever verified its signature. */
  function checkUserClaims(payload: JWTPayload): string {
    if (
      payload.role !== "authenticated" || !UUID_PATTERN.test(payload.sub ?? "") ||
      typeof payload.exp !== "number"
    ) {
      throw new Error("not a signed-in user's token");
    }
    return payload.sub!.toLowerCase();
  }

  /** An HS256 token: claims checked here (no network for junk), signature by the Auth server. */
  async function verifyWithAuthServer(token: string): Promise<string> {
    if (!options.authUserUrl || !options.authApiKey) {
      throw new Error("no Auth server (or no public API key) to verify HS256 tokens");
    }
    const claims = decodeJwt(token);
    const now = Date.now() / 1000;
    const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (
      claims.iss !== options.issuer || !audience.includes("authenticated") ||
      typeof claims.exp !== "number" || claims.exp <= now - CLOCK_TOLERANCE_SECONDS ||
      (typeof claims.nbf === "number" && claims.nbf > now + CLOCK_TOLERANCE_SECONDS)
    ) {
      throw new Error("claims refused before asking the Auth server");
    }
    const userId = checkUserClaims(claims);
    let res: Response;
    try {
      res = await fetchAuth(options.authUserUrl, {
        headers: {
          authorization: `Bearer ${token}`,
          apikey: options.authApiKey,
        },
        // A redirect would carry the token (and the key) to wherever it points.
        redirect: "error",
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw unreachable(error);
    }
    if (res.status >= 500) {
      await res.body?.cancel();
      throw unreachable(new Error(`Auth server answered ${res.status}`));
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`Auth server refused the token (${res.status})`);
    }
    const user = await res.json().catch(() => null) as { id?: unknown } | null;
    if (typeof user?.id !== "string" || user.id.toLowerCase() !== userId) {
      throw new Error("Auth server named another user");
    }
    return userId;
  }

  return {
    async authenticate(req) {
      const bearer = bearerToken(req.headers.get("authorization"));
      const apikey = req.headers.get("apikey");
      if (bearer !== null) {
        const kind = await credentialKind(bearer);
        if (kind !== null) return { kind };
      }
      // New-style secret keys arrive as `apikey` (the gateway turns them into a service role).
      if (apikey && apikey.length <= MAX_CREDENTIAL_LENGTH) {
        if ((await credentialKind(apikey)) === "service") {
          if (bearer === null || bearer === apikey) return { kind: "service" };
        }
      }
      if (bearer === null) {
        throw new AppError("unauthorized", "Send a bot API key or a user access token.");
      }
      try {
        const { alg } = decodeProtectedHeader(bearer);
        if (alg !== undefined && ASYMMETRIC_ALGS.includes(alg)) {
          const { payload } = await jwtVerify(bearer, jwks, {
            algorithms: ASYMMETRIC_ALGS,
            issuer: options.issuer,
            audience: "authenticated",
            requiredClaims: ["sub", "exp"],
            clockTolerance: CLOCK_TOLERANCE_SECONDS,
          });
          return { kind: "user", userId: checkUserClaims(payload) };
        }
        if (alg === "HS256") return { kind: "user", userId: await verifyWithAuthServer(bearer) };
        throw new Error("unsupported token algorithm");
      } catch (error) {
        if (error instanceof AppError) throw error;
        throw new AppError("unauthorized", "The access token is not valid.", { cause: error });
      }
    },
  };
}

/** The Auth server did not answer: the token may be fine, so not a 401 but "try again". */
function unreachable(cause: unknown): AppError {
  return new AppError("auth_unavailable", "Sign-in could not be checked; try again.", {
    cause,
  });
}

function bearerToken(header: string | null): string | null {
  if (!header || header.length > MAX_CREDENTIAL_LENGTH) return null;
  const match = header.match(/^Bearer ([A-Za-z0-9._~+/=-]+)$/);
  return match ? match[1]! : null;
}

/** MACs of the known keys under a key that lives only in this process. */
async function macCredentials(
  credentials: readonly { value: string; kind: "service" | "bot" }[],
): Promise<{ key: CryptoKey; macs: { mac: ArrayBuffer; kind: "service" | "bot" }[] }> {
  // importKey of fresh random bytes, not generateKey: Deno's first generateKey blocks ~33 ms,
  // a third of a cold start. The key is as random and stays non-extractable.
  const key = await crypto.subtle.importKey(
    "raw",
    crypto.getRandomValues(new Uint8Array(32)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  const macs = await Promise.all(
    credentials.map(async ({ value, kind }) => ({
      mac: await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(value)),
      kind,
    })),
  );
  return { key, macs };
}
