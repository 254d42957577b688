/**
 * Google's RISC signing keys: the configuration document names the JWKS (`jwks_uri`); both are
 * cached for as long as their Cache-Control max-age says (at least a cooldown), and a SET signed
 * by a key we do not know refetches the JWKS (at most once per cooldown), so a key rotation needs
 * no restart. A failed fetch is not retried within the cooldown either.
 * https://developers.google.com/identity/protocols/risc#validate-security-event-tokens
 */

import type { JWK } from "jose";
import { AppError } from "./errors.ts";
import { RISC_ISSUER } from "./risc_facts.ts";
import type { SetKeyLookup } from "./risc_verify.ts";

/** How the key source fetches and when. */
export interface RiscKeySourceOptions {
  /** The RISC configuration document's URL. */
  configurationUrl: string;
  fetch?: typeof fetch;
  /** Milliseconds since 1970. */
  now?: () => number;
  /** Least time between two refetches caused by an unknown kid (default 10 s). */
  unknownKidCooldownMs?: number;
  timeoutMs?: number;
}

/** The lookup for verifySecurityEventToken, plus a figure for tests and logs. */
export interface RiscKeySource {
  find: SetKeyLookup;
  /** How many times each document was fetched. */
  fetches(): { configuration: number; jwks: number };
}

interface Cached<T> {
  value: T;
  expiresAt: number;
}

/** Without Cache-Control, a document is kept this long; never longer than a day. */
const DEFAULT_MAX_AGE_S = 300;
const MAX_MAX_AGE_S = 86_400;

/** A key source over Google's (or an emulator's) RISC configuration document. */
export function createRiscKeySource(options: RiscKeySourceOptions): RiscKeySource {
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const cooldown = options.unknownKidCooldownMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const insecureAllowed = new URL(options.configurationUrl).protocol === "http:";
  let configuration: Cached<string> | undefined;
  let jwks: Cached<Map<string, JWK>> | undefined;
  let loading: Promise<Cached<Map<string, JWK>>> | undefined;
  let lastUnknownRefetch = -Infinity;
  // A failed load is not retried within the cooldown: a flood of SETs while Google (or the
  // network) fails must not become a flood of fetches.
  let failure: { at: number; error: unknown } | undefined;
  /** How long a document is kept: its max-age, but never less than the cooldown. */
  const keepMs = (maxAgeS: number) => Math.max(maxAgeS * 1000, cooldown);
  const counts = { configuration: 0, jwks: 0 };

  async function getJson(url: string): Promise<{ body: unknown; maxAgeS: number }> {
    let res: Response;
    try {
      res = await fetchImpl(url, {
        headers: { accept: "application/json" },
        redirect: "error",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new AppError("google_unavailable", "Google's RISC keys could not be fetched.", {
        cause,
      });
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new AppError("google_unavailable", `Google's RISC keys answered ${res.status}.`);
    }
    const body = await res.json().catch(() => null);
    return { body, maxAgeS: maxAgeOf(res.headers.get("cache-control")) };
  }

  async function jwksUri(): Promise<string> {
    if (configuration && configuration.expiresAt > now()) return configuration.value;
    counts.configuration += 1;
    const { body, maxAgeS } = await getJson(options.configurationUrl);
    const doc = body as { issuer?: unknown; jwks_uri?: unknown } | null;
    if (doc?.issuer !== RISC_ISSUER || typeof doc.jwks_uri !== "string") {
      throw new AppError("google_error", "Google's RISC configuration document is not usable.");
    }
    const uri = new URL(doc.jwks_uri);
    if (uri.protocol !== "https:" && !(insecureAllowed && uri.protocol === "http:")) {
      throw new AppError("google_error", "Google's RISC jwks_uri is not https.");
    }
    configuration = { value: uri.href, expiresAt: now() + keepMs(maxAgeS) };
    return uri.href;
  }

  function load(): Promise<Cached<Map<string, JWK>>> {
    if (failure && now() - failure.at < cooldown) return Promise.reject(failure.error);
    loading ??= (async () => {
      try {
        const uri = await jwksUri();
        counts.jwks += 1;
        const { body, maxAgeS } = await getJson(uri);
        const keys = (body as { keys?: unknown } | null)?.keys;
        if (!Array.isArray(keys)) {
          throw new AppError("google_error", "Google's RISC JWKS is not usable.");
        }
        const byKid = new Map<string, JWK>();
        for (const key of keys as JWK[]) {
          if (typeof key?.kid === "string" && key.kty === "RSA") byKid.set(key.kid, key);
        }
        jwks = { value: byKid, expiresAt: now() + keepMs(maxAgeS) };
        failure = undefined;
        return jwks;
      } catch (error) {
        failure = { at: now(), error };
        throw error;
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  }

  return {
    async find(kid) {
      const current = jwks && jwks.expiresAt > now() ? jwks : await load();
      const known = current.value.get(kid);
      if (known !== undefined) return known;
      // A new key (rotation) or a forgery: refetch, but not for every forged SET.
      if (now() - lastUnknownRefetch < cooldown) return undefined;
      lastUnknownRefetch = now();
      return (await load()).value.get(kid);
    },
    fetches: () => ({ ...counts }),
  };
}

/** Seconds from a Cache-Control header: max-age, 0 for no-store/no-cache, else the default. */
export function maxAgeOf(header: string | null): number {
  if (header === null) return DEFAULT_MAX_AGE_S;
  const directives = header.toLowerCase().split(",").map((d) => d.trim());
  if (directives.some((d) => d === "no-store" || d === "no-cache")) return 0;
  const maxAge = directives.find((d) => d.startsWith("max-age="))?.slice("max-age=".length);
  const seconds = maxAge !== undefined && /^\d+$/.test(maxAge) ? Number(maxAge) : NaN;
  return Number.isFinite(seconds) ? Math.min(seconds, MAX_MAX_AGE_S) : DEFAULT_MAX_AGE_S;
}
