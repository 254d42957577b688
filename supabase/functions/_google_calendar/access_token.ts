/**
 * `getGoogleAccessToken(userId)`: what a calendar skill calls before every Google request.
 *
 * - A token valid for more than five minutes is returned as it is.
 * - One valid for one to five minutes is returned at once too, while one caller renews it in the
 *   background (refresh-ahead), so callers almost never wait for Google.
 * - Only an expired (or nearly expired) token makes callers wait, for one refresh at Google:
 *   within a process by sharing the promise, across processes by the lease in the database.
 */

import { freshness, renewAhead } from "./access_token_ahead.ts";
import {
  type GoogleAccessToken,
  type TokenDeps,
  tokenOf,
  usable,
  usableUnderLease,
} from "./access_token_read.ts";
import {
  leaseSecondsFor,
  refreshHoldingLease,
  refreshIfLeaseFree,
  type RenewalTuning,
} from "./access_token_renewal.ts";
import { waitForFreshToken, waitForOthers } from "./access_token_wait.ts";

export type { GoogleAccessToken } from "./access_token_read.ts";

/** Tuning; the defaults suit production. */
export interface AccessTokenOptions {
  /** A token expiring within this margin is not handed out: callers wait for a refresh. */
  marginMs?: number;
  /** A token expiring within this window is renewed in the background. */
  aheadMs?: number;
  /** Attempts at Google for a refresh that fails as unavailable (5xx, timeout, garbage). */
  attempts?: number;
  backoffMs?: number;
  /** The timeout of one call to Google or the database: sizes the lease. */
  timeoutMs?: number;
  /**
   * The longest a caller waits for a token, all told (waiting for another refresher, then
   * perhaps refreshing itself). Default: the lease, plus 5 s.
   */
  deadlineMs?: number;
}

/** How to renew a token outside the usual freshness rule. */
export interface RenewOptions {
  /** The token Google just refused (401): renew unless the stored one is already another. */
  staleAccessToken?: string;
  /** A lease the caller already holds (the maintenance pass claims its rows this way). */
  leaseId?: string;
}

/** Hands out users' access tokens; see the module comment. */
export interface AccessTokenProvider {
  getGoogleAccessToken(userId: string): Promise<GoogleAccessToken>;
  /** Refreshes at Google now, through the same single-flight path. */
  renew(userId: string, options?: RenewOptions): Promise<GoogleAccessToken>;
  /** Seconds a refresher may hold the lease: the whole retry budget, plus the save. */
  readonly leaseSeconds: number;
}

/**
 * Builds the provider from explicit dependencies. Its parts, each beside it with its tests: the
 * read (./access_token_read.ts), the refresh-ahead (./access_token_ahead.ts), the wait
 * (./access_token_wait.ts), and the renewal with its retries (./access_token_renewal.ts).
 */
export function createAccessTokenProvider(
  deps: TokenDeps,
  options: AccessTokenOptions = {},
): AccessTokenProvider {
  const windows = { marginMs: options.marginMs ?? 60_000, aheadMs: options.aheadMs ?? 5 * 60_000 };
  const retries = {
    attempts: options.attempts ?? 3,
    backoffMs: options.backoffMs ?? 250,
    timeoutMs: options.timeoutMs ?? 10_000,
  };
  const tuning: RenewalTuning = { ...retries, leaseSeconds: leaseSecondsFor(retries) };
  const { leaseSeconds } = tuning;
  const deadlineMs = options.deadlineMs ?? (leaseSeconds + 5) * 1000;
  const inFlight = new Map<string, Promise<GoogleAccessToken>>();

  async function obtain(userId: string): Promise<GoogleAccessToken> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      // One round trip reads the row and, if its token is in its last minutes, takes the lease.
      const leaseId = crypto.randomUUID();
      const read = await deps.lease.readForUse(userId, {
        refreshBefore: new Date(Date.now() + windows.aheadMs),
        leaseId,
        seconds: leaseSeconds,
      });
      const row = await usableUnderLease(deps, read.row, userId, read.leased ? leaseId : null);
      const state = freshness(row, windows);
      if (read.leased) {
        if (state === "fresh") {
          // Not due after all (the database checks this too): nothing to renew.
          await deps.lease.release(userId, leaseId);
          return tokenOf(row);
        }
        // Still valid: hand it out at once and renew it in the background, under our lease.
        if (state === "ahead") return renewAhead(deps, tuning, row, leaseId);
        return await refreshHoldingLease(deps, tuning, row, leaseId, deadline);
      }
      // Valid, or still valid while another caller renews it ahead.
      if (state !== "expired") return tokenOf(row);
      // Expired, and another process is refreshing: its release brings the new row.
      const token = await waitForFreshToken(deps, userId, deadline, windows.marginMs);
      if (token) return token;
    }
  }

  async function renew(userId: string, options: RenewOptions): Promise<GoogleAccessToken> {
    if (options.leaseId) {
      const row = await usableUnderLease(
        deps,
        await deps.tokens.get(userId),
        userId,
        options.leaseId,
      );
      return await refreshHoldingLease(deps, tuning, row, options.leaseId);
    }
    const stale = options.staleAccessToken;
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const row = await usable(deps, await deps.tokens.get(userId));
      // Someone already replaced the refused token: use theirs rather than refresh again.
      if (stale && row.accessToken !== stale) return tokenOf(row);
      const refreshed = await refreshIfLeaseFree(
        deps,
        tuning,
        userId,
        (now) => stale === undefined || now.accessToken === stale,
        deadline,
      );
      if (refreshed) return refreshed;
      await waitForOthers(deps, userId, deadline);
      if (!stale) return tokenOf(await usable(deps, await deps.tokens.get(userId)));
    }
  }

  const singleFlight = (key: string, task: () => Promise<GoogleAccessToken>) => {
    const pending = inFlight.get(key);
    if (pending) return pending;
    const promise = task().finally(() => inFlight.delete(key));
    inFlight.set(key, promise);
    return promise;
  };

  return {
    leaseSeconds,
    getGoogleAccessToken(userId) {
      return singleFlight(userId, () => obtain(userId));
    },
    renew(userId, options = {}) {
      if (options.leaseId) return renew(userId, options);
      return singleFlight(`renew:${userId}`, () => renew(userId, options));
    },
  };
}
