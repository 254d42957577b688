/**
 * The read of the access-token provider (./access_token.ts): what a stored row can give. A row
 * gives a calendar token only if it exists, covers Calendar, and its grant has not lapsed; a
 * lapsed time-limited grant is deleted on the spot (Google would answer invalid_grant).
 */

import { AppError } from "./errors.ts";
import { hasCalendarScope } from "./google_facts.ts";
import type { GoogleOAuth } from "./google_oauth.ts";
import type { RefreshLease } from "./refresh_lease.ts";
import type { CalendarTokens, TokenStore } from "./token_store.ts";

/** A usable access token and what it allows. */
export interface GoogleAccessToken {
  accessToken: string;
  expiresAt: Date | null;
  scopes: string[];
}

/** What the provider's parts work with. */
export interface TokenDeps {
  tokens: TokenStore;
  lease: RefreshLease;
  google: GoogleOAuth;
  /** After a dead grant was deleted (its lifecycle events are queued): e.g. deliver them. */
  onGrantDeleted?: (userId: string) => void;
}

/** The token a row holds, without the rest of the row. */
export function tokenOf(row: CalendarTokens): GoogleAccessToken {
  return { accessToken: row.accessToken, expiresAt: row.expiresAt, scopes: row.scopes };
}

/** Milliseconds before the row's access token expires (Infinity when Google gave no expiry). */
export function remainingMs(row: CalendarTokens, now = Date.now()): number {
  return row.expiresAt === null ? Infinity : row.expiresAt.getTime() - now;
}

/** The row, if it can give a calendar token at all; otherwise the typed error. */
export async function usable(deps: TokenDeps, row: CalendarTokens | null): Promise<CalendarTokens> {
  if (!row) {
    throw new AppError("google_not_connected", "This user has not connected Google Calendar.");
  }
  if (!hasCalendarScope(row.scopes)) {
    throw new AppError("google_scope_missing", "Calendar access was not granted.");
  }
  if (row.refreshTokenExpiresAt && row.refreshTokenExpiresAt.getTime() <= Date.now()) {
    // A time-limited grant has lapsed: Google would answer invalid_grant, so don't ask.
    await deleteDeadGrant(deps, row, "google_grant_expired");
    throw new AppError("google_reconnect_required", "Calendar access has expired.");
  }
  return row;
}

/** `usable(row)`, letting go of `leaseId` (when the caller holds one) if it is not. */
export async function usableUnderLease(
  deps: TokenDeps,
  row: CalendarTokens | null,
  userId: string,
  leaseId: string | null,
): Promise<CalendarTokens> {
  try {
    return await usable(deps, row);
  } catch (error) {
    if (leaseId) await deps.lease.release(userId, leaseId).catch(() => {});
    throw error;
  }
}

/**
 * Deletes exactly this grant (a reconnect stored meanwhile has another grant id and stays):
 * nothing is left to revoke at Google. Its reconnect_required and disconnected events follow.
 */
export async function deleteDeadGrant(
  deps: TokenDeps,
  row: CalendarTokens,
  reason: string,
): Promise<void> {
  const deleted = await deps.tokens.delete(row.userId, {
    grantId: row.grantId,
    cause: "reconnect_required",
    reason,
    revokedAtGoogle: false,
    needsRevocation: false,
  });
  if (deleted) deps.onGrantDeleted?.(row.userId);
}
