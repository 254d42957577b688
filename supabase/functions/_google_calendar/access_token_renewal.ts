/**
 * The renewal of the access-token provider (./access_token.ts): a refresh at Google with its
 * retries, under the refresh lease, and the save. The lease is let go on every path.
 */

import { delay } from "./async.ts";
import { AppError, describeForLog, isAppError } from "./errors.ts";
import { hasCalendarScope } from "./google_facts.ts";
import type { GoogleTokenSet } from "./google_oauth.ts";
import {
  deleteDeadGrant,
  type GoogleAccessToken,
  type TokenDeps,
  tokenOf,
  usableUnderLease,
} from "./access_token_read.ts";
import type { CalendarTokens } from "./token_store.ts";

/** How a renewal retries. */
export interface RenewalTuning {
  /** Attempts at Google for a refresh that fails as unavailable (5xx, timeout, garbage). */
  attempts: number;
  /** The pause before the second attempt; it doubles after each. */
  backoffMs: number;
  /** The timeout of one call to Google or the database. */
  timeoutMs: number;
  /** Seconds the lease is taken for (see leaseSecondsFor). */
  leaseSeconds: number;
}

/**
 * Seconds a refresher may hold the lease: every attempt may take the full timeout, plus the
 * backoffs between them, plus the reads and writes around them. A lease that lapses
 * mid-refresh would let a second refresher in.
 */
export function leaseSecondsFor(t: Omit<RenewalTuning, "leaseSeconds">): number {
  const backoffTotal = Array.from({ length: t.attempts - 1 }, (_, i) => t.backoffMs * 2 ** i)
    .reduce((a, b) => a + b, 0);
  return Math.ceil((t.attempts * t.timeoutMs + backoffTotal + 2 * t.timeoutMs) / 1000);
}

/**
 * Refreshes at Google, retrying google_unavailable while attempts are left and (for a waiting
 * caller, `deadline` in epoch ms) the next attempt can end in time.
 */
export async function refreshWithRetries(
  deps: Pick<TokenDeps, "google">,
  tuning: RenewalTuning,
  refreshToken: string,
  deadline?: number,
): Promise<GoogleTokenSet> {
  for (let attempt = 1;; attempt++) {
    try {
      return await deps.google.refresh(refreshToken);
    } catch (error) {
      if (!isAppError(error, "google_unavailable") || attempt >= tuning.attempts) throw error;
      const pause = tuning.backoffMs * 2 ** (attempt - 1);
      if (deadline !== undefined && Date.now() + pause + tuning.timeoutMs > deadline) throw error;
      await delay(pause);
    }
  }
}

/**
 * Holds the lease: refreshes `row`'s grant at Google and saves the result. The lease is let go
 * on every path: by the save, by a recorded failure, by the grant's deletion, and otherwise
 * here (so a successful refresh costs no extra round trip to release it).
 */
export async function refreshHoldingLease(
  deps: TokenDeps,
  tuning: RenewalTuning,
  row: CalendarTokens,
  leaseId: string,
  deadline?: number,
): Promise<GoogleAccessToken> {
  try {
    if (deadline !== undefined && Date.now() + tuning.timeoutMs > deadline) {
      // A caller that waited this long for someone else's refresh gives up rather than start
      // its own, which could not end in time: the next caller tries afresh.
      throw new AppError("google_unavailable", "The token refresh is taking too long.");
    }
    return await refreshAndSave(deps, tuning, row, leaseId, deadline);
  } catch (error) {
    // A no-op when the lease was already let go.
    await deps.lease.release(row.userId, leaseId).catch(() => {});
    throw error;
  }
}

/**
 * Takes the lease and, if `stillNeeded` says so of the row as it now is, refreshes; null when
 * someone else holds the lease.
 */
export async function refreshIfLeaseFree(
  deps: TokenDeps,
  tuning: RenewalTuning,
  userId: string,
  stillNeeded: (row: CalendarTokens) => boolean,
  deadline: number,
): Promise<GoogleAccessToken | null> {
  const leaseId = crypto.randomUUID();
  if (!await deps.lease.acquire(userId, leaseId, tuning.leaseSeconds)) return null;
  // Re-read under the lease: another process may have refreshed since our read.
  const row = await usableUnderLease(deps, await deps.tokens.get(userId), userId, leaseId);
  if (!stillNeeded(row)) {
    await deps.lease.release(userId, leaseId);
    return tokenOf(row);
  }
  return await refreshHoldingLease(deps, tuning, row, leaseId, deadline);
}

async function refreshAndSave(
  deps: TokenDeps,
  tuning: RenewalTuning,
  row: CalendarTokens,
  leaseId: string,
  deadline?: number,
): Promise<GoogleAccessToken> {
  const { userId } = row;
  let refreshed: GoogleTokenSet;
  try {
    refreshed = await refreshWithRetries(deps, tuning, row.refreshToken, deadline);
  } catch (error) {
    if (isAppError(error, "google_reconnect_required")) {
      // Revoked, expired, or over Google's limit: this grant is dead for good.
      await deleteDeadGrant(deps, row, "google_reconnect_required");
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
  return { accessToken: refreshed.accessToken, expiresAt: refreshed.expiresAt, scopes };
}
