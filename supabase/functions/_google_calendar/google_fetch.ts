/**
 * `googleFetch(userId, pathOrUrl, init?)`: a Google API call with the user's token, done right
 * once so that no skill hand-rolls it. What Nango's proxy and google-auth-library's `request()`
 * give their users:
 *
 * - 401: the token was refused although it looked valid (password change, security event):
 *   refresh once, bypassing the freshness check, and retry once. Only a refresh answering
 *   `invalid_grant` means reconnect.
 * - 429, or 403 with a rate or quota reason: `google_rate_limited`, with Google's Retry-After.
 * - 403 for a missing scope: `google_scope_missing`; API not enabled: `google_api_disabled` (an
 *   operator error: the caller's `logError` logs it at error level).
 * - 5xx, timeouts and network errors: bounded retries with backoff and jitter for idempotent
 *   methods only, then `google_unavailable`.
 * - Any other answer (2xx, and 4xx such as 404 or 409 that the skill should handle) is returned.
 *
 * The token goes in the Authorization header, only to Google's API hosts, and is never logged.
 */

import { delay } from "./async.ts";
import { AppError } from "./errors.ts";
import { API_DISABLED_REASONS, RATE_LIMIT_REASONS, SCOPE_REASONS } from "./google_facts.ts";
import type { AccessTokenProvider } from "./access_token.ts";

/** The call skills make; see the module comment. */
export type GoogleFetch = (
  userId: string,
  pathOrUrl: string | URL,
  init?: RequestInit,
) => Promise<Response>;

/** Tuning and dependencies of googleFetch. */
export interface GoogleFetchOptions {
  tokens: Pick<AccessTokenProvider, "getGoogleAccessToken" | "renew">;
  /** Where relative paths go, e.g. https://www.googleapis.com. */
  apiBaseUrl: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Attempts for idempotent methods on 5xx or timeout (default 3). */
  attempts?: number;
  backoffMs?: number;
  /** Retry-After to report when Google sends none on a rate limit (default 5 s). */
  defaultRetryAfterSeconds?: number;
  fetch?: typeof fetch;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** Builds googleFetch from explicit dependencies. */
export function createGoogleFetch(options: GoogleFetchOptions): GoogleFetch {
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 200;
  const defaultRetryAfter = options.defaultRetryAfterSeconds ?? 5;
  const doFetch = options.fetch ?? fetch;
  const base = new URL(options.apiBaseUrl);

  return async (userId, pathOrUrl, init = {}) => {
    const url = resolveGoogleUrl(base, pathOrUrl);
    const method = (init.method ?? "GET").toUpperCase();
    const headers = new Headers(init.headers);
    if (headers.has("authorization")) {
      throw new AppError("invalid_request", "googleFetch sets Authorization itself.");
    }
    if (init.body instanceof ReadableStream) {
      // A stream can be sent once; a refresh-and-retry needs to send it again.
      throw new AppError(
        "invalid_request",
        "googleFetch needs a body it can resend, not a stream.",
      );
    }
    const retries = IDEMPOTENT.has(method) ? attempts : 1;

    const send = async (accessToken: string): Promise<Response> => {
      for (let attempt = 1;; attempt++) {
        headers.set("authorization", `Bearer ${accessToken}`);
        const timeout = AbortSignal.timeout(options.timeoutMs);
        const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
        let response: Response | null = null;
        let failure: unknown = null;
        try {
          response = await doFetch(url, { ...init, method, headers, signal });
        } catch (error) {
          if (init.signal?.aborted) throw error; // The caller gave up: not Google's fault.
          failure = error;
        }
        if (response && response.status < 500) return response;
        await response?.body?.cancel();
        if (attempt >= retries) {
          throw new AppError("google_unavailable", "Google is not answering; try again shortly.", {
            cause: failure ?? { name: "GoogleApiError", code: String(response?.status) },
          });
        }
        await delay(jittered(backoffMs * 2 ** (attempt - 1)));
      }
    };

    let token = await options.tokens.getGoogleAccessToken(userId);
    let response = await send(token.accessToken);
    if (response.status === 401) {
      await response.body?.cancel();
      token = await options.tokens.renew(userId, { staleAccessToken: token.accessToken });
      response = await send(token.accessToken);
      if (response.status === 401) {
        await response.body?.cancel();
        throw new AppError("google_error", "Google refused a freshly refreshed token.");
      }
    }
    if (response.status === 403 || response.status === 429) {
      await throwIfTypedRefusal(response, defaultRetryAfter);
    }
    return response;
  };
}

/**
 * A path is joined to the API base; an absolute URL must be on the API base's origin or on a
 * Google API host, so the user's token can never be sent anywhere else.
 */
export function resolveGoogleUrl(base: URL, pathOrUrl: string | URL): URL {
  const url = typeof pathOrUrl === "string" && pathOrUrl.startsWith("/")
    ? new URL(base.href.replace(/\/+$/, "") + pathOrUrl)
    : new URL(pathOrUrl);
  const googleHost = url.protocol === "https:" &&
    (url.hostname === "www.googleapis.com" || url.hostname.endsWith(".googleapis.com"));
  if (url.origin !== base.origin && !googleHost) {
    throw new AppError("invalid_request", "googleFetch only calls Google's APIs.");
  }
  return url;
}

/** The reasons in a Google API error body: `error.errors[].reason` and `error.details[].reason`. */
export function googleErrorReasons(body: unknown): string[] {
  const error = (body as { error?: unknown } | null)?.error;
  if (!error || typeof error !== "object") return [];
  const reasons: string[] = [];
  const { errors, details, status } = error as {
    errors?: unknown;
    details?: unknown;
    status?: unknown;
  };
  for (const list of [errors, details]) {
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      const reason = (item as { reason?: unknown } | null)?.reason;
      if (typeof reason === "string") reasons.push(reason);
    }
  }
  if (typeof status === "string") reasons.push(status);
  return reasons;
}

/**
 * The typed error a 403 or 429 means, or null for a 403 the skill should see (e.g. no access to
 * another person's calendar).
 */
export function classifyRefusal(
  status: number,
  reasons: readonly string[],
  retryAfterSeconds: number,
): AppError | null {
  if (status === 429 || reasons.some((r) => RATE_LIMIT_REASONS.has(r))) {
    return new AppError("google_rate_limited", "Google asks us to slow down; try again shortly.", {
      retryAfterSeconds,
    });
  }
  if (reasons.some((r) => SCOPE_REASONS.has(r))) {
    return new AppError("google_scope_missing", "Calendar access was not granted.");
  }
  if (reasons.some((r) => API_DISABLED_REASONS.has(r))) {
    return new AppError(
      "google_api_disabled",
      "The Google Calendar API is not enabled for this app's Google Cloud project.",
    );
  }
  return null;
}

/** Seconds from a Retry-After header (delta seconds or an HTTP date), if it says. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Math.min(Number(value.trim()), 86_400);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.min(Math.ceil((date - now) / 1000), 86_400));
}

async function throwIfTypedRefusal(response: Response, defaultRetryAfter: number): Promise<void> {
  // Read a copy: a 403 the skill should see is returned with its body intact.
  const body = await response.clone().json().catch(() => null);
  const retryAfter = parseRetryAfter(response.headers.get("retry-after")) ?? defaultRetryAfter;
  const refusal = classifyRefusal(response.status, googleErrorReasons(body), retryAfter);
  if (!refusal) return;
  await response.body?.cancel();
  throw refusal;
}

function jittered(ms: number): number {
  return ms / 2 + Math.random() * ms / 2;
}
