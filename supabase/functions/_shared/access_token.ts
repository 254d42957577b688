/**
 * `getGoogleAccessToken(userId)`: what a calendar skill calls before every Google request. Returns
 * a token valid for at least a minute, refreshing it at Google when needed, once for all callers:
 * within a process by sharing the promise, across processes by a lease in the database.
 */

import { AppError, describeForLog, isAppError } from "./errors.ts";
import { type GoogleOAuth, hasCalendarScope } from "./google_oauth.ts";
import { getServices } from "./services.ts";
import { type AdminClient, databaseError } from "./supabase_admin.ts";
import type { CalendarTokens, TokenStore } from "./token_store.ts";

export interface GoogleAccessToken {
  accessToken: string;
  expiresAt: Date | null;
  scopes: string[];
}

export interface AccessTokenOptions {
  /** Refresh when the token expires within this margin. */
  marginMs?: number;
  /** How long a refresher may hold the lease; a crashed one blocks nobody longer than this. */
  leaseSeconds?: number;
  /** Attempts at Google for a refresh that fails as unavailable (5xx, timeout, garbage). */
  attempts?: number;
  backoffMs?: number;
  /** How often a caller waiting on another process's refresh looks at the row again. */
  pollMs?: number;
}

export interface AccessTokenProvider {
  getGoogleAccessToken(userId: string): Promise<GoogleAccessToken>;
}

export function createAccessTokenProvider(
  deps: { db: AdminClient; tokens: TokenStore; google: GoogleOAuth },
  options: AccessTokenOptions = {},
): AccessTokenProvider {
  const marginMs = options.marginMs ?? 60_000;
  const leaseSeconds = options.leaseSeconds ?? 30;
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 250;
  const pollMs = options.pollMs ?? 25;
  const inFlight = new Map<string, Promise<GoogleAccessToken>>();

  const fresh = (row: CalendarTokens) =>
    row.expiresAt === null || row.expiresAt.getTime() - Date.now() > marginMs;

  /** The row, if it can give a calendar token at all; otherwise the typed error. */
  const usable = (row: CalendarTokens | null): CalendarTokens => {
    if (!row) {
      throw new AppError("google_not_connected", "This user has not connected Google Calendar.");
    }
    if (!hasCalendarScope(row.scopes)) {
      throw new AppError("google_scope_missing", "Calendar access was not granted.");
    }
    return row;
  };
  const tokenOf = (row: CalendarTokens): GoogleAccessToken => ({
    accessToken: row.accessToken,
    expiresAt: row.expiresAt,
    scopes: row.scopes,
  });

  async function acquireLease(userId: string, leaseId: string): Promise<boolean> {
    const { data, error } = await deps.db.rpc("google_token_acquire_refresh_lease", {
      p_user_id: userId,
      p_lease_id: leaseId,
      p_lease_seconds: leaseSeconds,
    });
    if (error) throw databaseError(error);
    return data === true;
  }

  async function refreshWithRetries(refreshToken: string) {
    for (let attempt = 1;; attempt++) {
      try {
        return await deps.google.refresh(refreshToken);
      } catch (error) {
        if (!isAppError(error, "google_unavailable") || attempt >= attempts) throw error;
        await delay(backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  /** Holds the lease: re-reads, refreshes at Google, persists, and always lets go. */
  async function refreshHoldingLease(userId: string, leaseId: string): Promise<GoogleAccessToken> {
    const row = usable(await deps.tokens.get(userId));
    if (fresh(row)) {
      // Another process refreshed between our read and the lease.
      await deps.tokens.releaseLease(userId, leaseId);
      return tokenOf(row);
    }
    let refreshed;
    try {
      refreshed = await refreshWithRetries(row.refreshToken);
    } catch (error) {
      if (isAppError(error, "google_reconnect_required")) {
        // Revoked, expired, or over Google's limit: the stored grant is dead for good.
        await deps.tokens.delete(userId);
        console.warn(`access_token: grant for user ${userId} is no longer valid; row deleted`);
        throw error;
      }
      const app = isAppError(error) ? error : new AppError("google_unavailable", "Google failed.");
      console.warn(`access_token: refresh for user ${userId} failed: ${describeForLog(error)}`);
      await deps.tokens.releaseLease(userId, leaseId, app.code).catch(() => {});
      throw app.code === "google_unavailable" || app.code === "google_error"
        ? new AppError("google_unavailable", "Google is not answering; try again shortly.", {
          cause: error,
        })
        : app;
    }
    const scopes = refreshed.scopes.length > 0 ? refreshed.scopes : row.scopes;
    if (!hasCalendarScope(scopes)) {
      await deps.tokens.releaseLease(userId, leaseId, "google_scope_missing");
      throw new AppError("google_scope_missing", "Calendar access is no longer granted.");
    }
    const saved = await deps.tokens.saveRefreshed(userId, {
      leaseId,
      accessToken: refreshed.accessToken,
      refreshToken: refreshed.refreshToken,
      expiresAt: refreshed.expiresAt,
      scopes,
    });
    if (!saved) console.warn(`access_token: lease for user ${userId} lapsed before saving`);
    return { accessToken: refreshed.accessToken, expiresAt: refreshed.expiresAt, scopes };
  }

  async function obtain(userId: string): Promise<GoogleAccessToken> {
    const deadline = Date.now() + (leaseSeconds + 5) * 1000;
    for (;;) {
      const row = usable(await deps.tokens.get(userId));
      if (fresh(row)) return tokenOf(row);
      const leaseId = crypto.randomUUID();
      if (await acquireLease(userId, leaseId)) return await refreshHoldingLease(userId, leaseId);
      // Someone else is refreshing: wait for their result (or for their lease to lapse).
      if (Date.now() > deadline) {
        throw new AppError("google_unavailable", "The token refresh is taking too long.");
      }
      await delay(pollMs);
    }
  }

  return {
    getGoogleAccessToken(userId) {
      const pending = inFlight.get(userId);
      if (pending) return pending;
      const promise = obtain(userId).finally(() => inFlight.delete(userId));
      inFlight.set(userId, promise);
      return promise;
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A valid Google access token for `userId` (at least a minute left), its expiry and scopes.
 * Throws AppError: google_not_connected, google_reconnect_required (call google-connect again),
 * google_scope_missing, google_unavailable (try again later), database_unavailable.
 */
export function getGoogleAccessToken(userId: string): Promise<GoogleAccessToken> {
  return getServices().accessTokens.getGoogleAccessToken(userId);
}
