/**
 * The wait of the access-token provider (./access_token.ts): a caller whose token has expired
 * while another process refreshes it waits for that refresher's lease to be let go (the release
 * brings the new row), until the caller's deadline at the latest.
 */

import {
  type GoogleAccessToken,
  remainingMs,
  type TokenDeps,
  tokenOf,
  usable,
} from "./access_token_read.ts";
import { AppError } from "./errors.ts";
import type { LeaseWait } from "./refresh_lease.ts";

/** Waits for the current refresher until its lease lapses, or `deadline` (epoch ms). */
export async function waitForOthers(
  deps: Pick<TokenDeps, "lease">,
  userId: string,
  deadline: number,
): Promise<LeaseWait> {
  const left = deadline - Date.now();
  if (left <= 0) {
    throw new AppError("google_unavailable", "The token refresh is taking too long.");
  }
  return await deps.lease.awaitRelease(userId, left);
}

/**
 * Waits for another refresher, and returns the token its release brought if that one is valid
 * for more than `marginMs`; null when the caller must look again (the lease lapsed, say).
 */
export async function waitForFreshToken(
  deps: TokenDeps,
  userId: string,
  deadline: number,
  marginMs: number,
): Promise<GoogleAccessToken | null> {
  const waited = await waitForOthers(deps, userId, deadline);
  if (waited.state !== "released" || !waited.row) return null;
  const row = await usable(deps, waited.row);
  return remainingMs(row) > marginMs ? tokenOf(row) : null;
}
