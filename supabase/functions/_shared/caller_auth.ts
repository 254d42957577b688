/**
 * Who is calling: the bot's server (Supabase service credentials) acting for any user, or a
 * signed-in user (their Supabase access token, verified against the project's JWKS) acting for
 * themself. Anything else is `unauthorized`.
 */

import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { Config } from "./config.ts";
import { AppError } from "./errors.ts";
import { UUID_PATTERN } from "./ids.ts";

/** Who is calling, once authenticated. */
export type Caller = { kind: "service" } | { kind: "user"; userId: string };

/** Authenticates requests; builds once per process. */
export interface CallerVerifier {
  authenticate(req: Request): Promise<Caller>;
}

const MAX_CREDENTIAL_LENGTH = 8192;

/** The verifier for `config`'s credentials and Auth server. */
export function callerVerifierFor(config: Config): CallerVerifier {
  return createCallerVerifier({
    serviceCredentials: config.serviceCredentials,
    jwksUrl: config.auth.jwksUrl,
    issuer: config.auth.issuer,
    timeoutMs: config.httpTimeoutMs,
  });
}

/** Builds the verifier once per process: hashed service credentials and a cached JWKS. */
export function createCallerVerifier(options: {
  serviceCredentials: readonly string[];
  jwksUrl: URL;
  issuer: string;
  timeoutMs: number;
  /** Tests may pass a local key set instead of fetching the JWKS. */
  jwks?: JWTVerifyGetKey;
}): CallerVerifier {
  const serviceMacs = macCredentials(options.serviceCredentials);
  const jwks = options.jwks ?? createRemoteJWKSet(options.jwksUrl, {
    timeoutDuration: options.timeoutMs,
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
  });

  async function isServiceCredential(value: string): Promise<boolean> {
    const { key, macs } = await serviceMacs;
    const data = new TextEncoder().encode(value);
    let match = false;
    // WebCrypto's HMAC verify compares in constant time; check every credential, always, so
    // timing says nothing about which one matched.
    for (const mac of macs) match = (await crypto.subtle.verify("HMAC", key, mac, data)) || match;
    return match;
  }

  return {
    async authenticate(req) {
      const bearer = bearerToken(req.headers.get("authorization"));
      const apikey = req.headers.get("apikey");
      if (bearer !== null && await isServiceCredential(bearer)) return { kind: "service" };
      // New-style secret keys arrive as `apikey` (the gateway turns them into a service role).
      if (apikey && apikey.length <= MAX_CREDENTIAL_LENGTH && await isServiceCredential(apikey)) {
        if (bearer === null || bearer === apikey) return { kind: "service" };
      }
      if (bearer === null) {
        throw new AppError("unauthorized", "Send the service key or a user access token.");
      }
      try {
        const { payload } = await jwtVerify(bearer, jwks, {
          algorithms: ["ES256", "RS256"],
          issuer: options.issuer,
          audience: "authenticated",
          requiredClaims: ["sub", "exp"],
        });
        if (payload.role !== "authenticated" || !UUID_PATTERN.test(payload.sub ?? "")) {
          throw new Error("not a signed-in user's token");
        }
        return { kind: "user", userId: payload.sub!.toLowerCase() };
      } catch (error) {
        throw new AppError("unauthorized", "The access token is not valid.", { cause: error });
      }
    },
  };
}

function bearerToken(header: string | null): string | null {
  if (!header || header.length > MAX_CREDENTIAL_LENGTH) return null;
  const match = header.match(/^Bearer ([A-Za-z0-9._~+/=-]+)$/);
  return match ? match[1]! : null;
}

/** MACs of the known credentials under a key that lives only in this process. */
async function macCredentials(
  credentials: readonly string[],
): Promise<{ key: CryptoKey; macs: ArrayBuffer[] }> {
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
    credentials.map((c) => crypto.subtle.sign("HMAC", key, new TextEncoder().encode(c))),
  );
  return { key, macs };
}
