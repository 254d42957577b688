/**
 * `getGoogleAccessToken(userId)`: what a calendar skill calls before every Google request.
 *
 * - A token valid for more than five minutes is returned as it is.
 * - One valid for one to five minutes is returned at once too, while one caller renews it in the
 *   background (refresh-ahead), so callers almost never wait for Google.
 * - Only an expired (or nearly expired) token makes callers wait, for one refresh at Google:
 *   within a process by sharing the promise, across processes by the lease in the database.
 */

import { delay } from "./async.ts";
import { runInBackground } from "./background.ts";
import { AppError, describeForLog, isAppError } from "./errors.ts";
import type { GoogleOAuth, GoogleTokenSet } from "./google_oauth.ts";
import { hasCalendarScope } from "./google_facts.ts";
import type { LeaseWait, RefreshLease } from "./refresh_lease.ts";
import type { CalendarTokens, TokenStore } from "./token_store.ts";

/** A usable access token and what it allows. */
export interface GoogleAccessToken {
  accessToken: string;
  expiresAt: Date | null;
  scopes: string[];
  /** The connected Google account's address, as Google said at consent. */
  googleEmail?: string | null;
}

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

/** Builds the provider from explicit dependencies. */
export function createAccessTokenProvider(
  deps: {
    tokens: TokenStore;
    lease: RefreshLease;
    google: GoogleOAuth;
    /** After a dead grant was deleted (its lifecycle events are queued): e.g. deliver them. */
    onGrantDeleted?: (userId: string) => void;
  },
  options: AccessTokenOptions = {},
): AccessTokenProvider {
  const marginMs = options.marginMs ?? 60_000;
  const aheadMs = options.aheadMs ?? 5 * 60_000;
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 250;
  const timeoutMs = options.timeoutMs ?? 10_000;
  // Every attempt may take the full timeout, plus the backoffs between them, plus the reads
  // and writes around them. A lease that lapses mid-refresh would let a second refresher in.
  const backoffTotal = Array.from({ length: attempts - 1 }, (_, i) => backoffMs * 2 ** i)
    .reduce((a, b) => a + b, 0);
  const leaseSeconds = Math.ceil((attempts * timeoutMs + backoffTotal + 2 * timeoutMs) / 1000);
  const deadlineMs = options.deadlineMs ?? (leaseSeconds + 5) * 1000;
  const inFlight = new Map<string, Promise<GoogleAccessToken>>();

  const remainingMs = (row: CalendarTokens) =>
    row.expiresAt === null ? Infinity : row.expiresAt.getTime() - Date.now();

  /** The row, if it can give a calendar token at all; otherwise the typed error. */
  async function usable(row: CalendarTokens | null): Promise<CalendarTokens> {
    if (!row) {
      throw new AppError("google_not_connected", "This user has not connected Google Calendar.");
    }
    if (!hasCalendarScope(row.scopes)) {
      throw new AppError("google_scope_missing", "Calendar access was not granted.");
    }
    if (row.refreshTokenExpiresAt && row.refreshTokenExpiresAt.getTime() <= Date.now()) {
      // A time-limited grant has lapsed: Google would answer invalid_grant, so don't ask.
      await deleteDeadGrant(row, "google_grant_expired");
      throw new AppError("google_reconnect_required", "Calendar access has expired.");
    }
    return row;
  }

  /** `usable(row)`, letting go of `leaseId` (when the caller holds one) if it is not. */
  async function usableUnderLease(
    row: CalendarTokens | null,
    userId: string,
    leaseId: string | null,
  ): Promise<CalendarTokens> {
    try {
      return await usable(row);
    } catch (error) {
      if (leaseId) await deps.lease.release(userId, leaseId).catch(() => {});
      throw error;
    }
  }

  /**
   * Deletes exactly this grant (a reconnect stored meanwhile has another grant id and stays):
   * nothing is left to revoke at Google. Its reconnect_required and disconnected events follow.
   */
  async function deleteDeadGrant(row: CalendarTokens, reason: string): Promise<void> {
    const deleted = await deps.tokens.delete(row.userId, {
      grantId: row.grantId,
      cause: "reconnect_required",
      reason,
      revokedAtGoogle: false,
      needsRevocation: false,
    });
    if (deleted) deps.onGrantDeleted?.(row.userId);
  }
  const tokenOf = (row: CalendarTokens): GoogleAccessToken => ({
    accessToken: row.accessToken,
    expiresAt: row.expiresAt,
    scopes: row.scopes,
    googleEmail: row.googleEmail,
  });

  /** Retries while attempts are left and (for a waiting caller) the next can end in time. */
  async function refreshWithRetries(refreshToken: string, deadline?: number) {
    for (let attempt = 1;; attempt++) {
      try {
        return await deps.google.refresh(refreshToken);
      } catch (error) {
        if (!isAppError(error, "google_unavailable") || attempt >= attempts) throw error;
        const pause = backoffMs * 2 ** (attempt - 1);
        if (deadline !== undefined && Date.now() + pause + timeoutMs > deadline) throw error;
        await delay(pause);
      }
    }
  }

  /**
   * Holds the lease: refreshes `row`'s grant at Google and saves the result. The lease is let go
   * on every path: by the save, by a recorded failure, by the grant's deletion, and otherwise
   * here (so a successful refresh costs no extra round trip to release it).
   */
  async function refreshHoldingLease(
    row: CalendarTokens,
    leaseId: string,
    deadline?: number,
  ): Promise<GoogleAccessToken> {
    try {
      if (deadline !== undefined && Date.now() + timeoutMs > deadline) {
        // A caller that waited this long for someone else's refresh gives up rather than start
        // its own, which could not end in time: the next caller tries afresh.
        throw new AppError("google_unavailable", "The token refresh is taking too long.");
      }
      return await refreshAndSave(row, leaseId, deadline);
    } catch (error) {
      // A no-op when the lease was already let go.
      await deps.lease.release(row.userId, leaseId).catch(() => {});
      throw error;
    }
  }

  async function refreshAndSave(
    row: CalendarTokens,
    leaseId: string,
    deadline?: number,
  ): Promise<GoogleAccessToken> {
    const { userId } = row;
    let refreshed: GoogleTokenSet;
    try {
      refreshed = await refreshWithRetries(row.refreshToken, deadline);
    } catch (error) {
      if (isAppError(error, "google_reconnect_required")) {
        // Revoked, expired, or over Google's limit: this grant is dead for good.
        await deleteDeadGrant(row, "google_reconnect_required");
        console.warn(`access_token: grant for user ${userId} is no longer valid; row deleted`);
        throw error;
      }
      const app = isAppError(error) ? error : new AppError("google_unavailable", "Google failed.");
      if (app.code === "google_client_misconfigured") {
        console.error(`access_token: refresh for user ${userId} failed: ${describeForLog(app)}`);
      } else {
        console.warn(`access_token: refresh for user ${userId} failed: ${describeForLog(error)}`);
      }
      await deps.lease.release(userId, leaseId, app.code).catch(() => {});
      if (app.code === "google_unavailable" || app.code === "google_error") {
        throw new AppError("google_unavailable", "Google is not answering; try again shortly.", {
          cause: error,
        });
      }
      throw app;
    }
    const scopes = refreshed.scopes.length > 0 ? refreshed.scopes : row.scopes;
    const saved = await deps.lease.saveRefreshed(userId, leaseId, {
      accessToken: refreshed.accessToken,
      refreshToken: refreshed.refreshToken ?? row.refreshToken,
      expiresAt: refreshed.expiresAt,
      refreshTokenExpiresAt: refreshed.refreshTokenExpiresAt,
      scopes,
    });
    if (!saved) console.warn(`access_token: lease for user ${userId} lapsed before saving`);
    if (!hasCalendarScope(scopes)) {
      // Saved as Google answered, so status shows it; the grant no longer covers Calendar.
      throw new AppError("google_scope_missing", "Calendar access is no longer granted.");
    }
    return {
      accessToken: refreshed.accessToken,
      expiresAt: refreshed.expiresAt,
      scopes,
      googleEmail: row.googleEmail,
    };
  }

  /**
   * Takes the lease and, if `stillNeeded` says so of the row as it now is, refreshes; null when
   * someone else holds the lease.
   */
  async function refreshIfLeaseFree(
    userId: string,
    stillNeeded: (row: CalendarTokens) => boolean,
    deadline: number,
  ): Promise<GoogleAccessToken | null> {
    const leaseId = crypto.randomUUID();
    if (!await deps.lease.acquire(userId, leaseId, leaseSeconds)) return null;
    // Re-read under the lease: another process may have refreshed since our read.
    const row = await usableUnderLease(await deps.tokens.get(userId), userId, leaseId);
    if (!stillNeeded(row)) {
      await deps.lease.release(userId, leaseId);
      return tokenOf(row);
    }
    return await refreshHoldingLease(row, leaseId, deadline);
  }

  /** Waits for the current refresher until its lease lapses at the latest. */
  async function waitForOthers(userId: string, deadline: number): Promise<LeaseWait> {
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new AppError("google_unavailable", "The token refresh is taking too long.");
    }
    return await deps.lease.awaitRelease(userId, left);
  }

  async function obtain(userId: string): Promise<GoogleAccessToken> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      // One round trip reads the row and, if its token is in its last minutes, takes the lease.
      const leaseId = crypto.randomUUID();
      const read = await deps.lease.readForUse(userId, {
        refreshBefore: new Date(Date.now() + aheadMs),
        leaseId,
        seconds: leaseSeconds,
      });
      const row = await usableUnderLease(read.row, userId, read.leased ? leaseId : null);
      const left = remainingMs(row);
      if (read.leased) {
        if (left > aheadMs) {
          // Not due after all (the database checks this too): nothing to renew.
          await deps.lease.release(userId, leaseId);
          return tokenOf(row);
        }
        if (left > marginMs) {
          // Still valid: hand it out at once and renew it in the background, under our lease.
          renewAhead(row, leaseId);
          return tokenOf(row);
        }
        return await refreshHoldingLease(row, leaseId, deadline);
      }
      // Valid, or still valid while another caller renews it ahead.
      if (left > marginMs) return tokenOf(row);
      // Expired, and another process is refreshing: its release brings the new row.
      const waited = await waitForOthers(userId, deadline);
      if (waited.state === "released" && waited.row) {
        const now = await usable(waited.row);
        if (remainingMs(now) > marginMs) return tokenOf(now);
      }
    }
  }

  /** Renews `row`'s grant after the answer, holding `leaseId`; the next caller sees failures. */
  function renewAhead(row: CalendarTokens, leaseId: string): void {
    runInBackground(
      refreshHoldingLease(row, leaseId)
        .catch((error) =>
          console.warn(`access_token: renewal ahead for ${row.userId}: ${describeForLog(error)}`)
        ),
    );
  }

  async function renew(userId: string, options: RenewOptions): Promise<GoogleAccessToken> {
    if (options.leaseId) {
      const row = await usableUnderLease(await deps.tokens.get(userId), userId, options.leaseId);
      return await refreshHoldingLease(row, options.leaseId);
    }
    const stale = options.staleAccessToken;
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const row = await usable(await deps.tokens.get(userId));
      // Someone already replaced the refused token: use theirs rather than refresh again.
      if (stale && row.accessToken !== stale) return tokenOf(row);
      const refreshed = await refreshIfLeaseFree(
        userId,
        (now) => stale === undefined || now.accessToken === stale,
        deadline,
      );
      if (refreshed) return refreshed;
      await waitForOthers(userId, deadline);
      if (!stale) return tokenOf(await usable(await deps.tokens.get(userId)));
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
