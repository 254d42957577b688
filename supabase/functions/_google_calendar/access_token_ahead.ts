/**
 * The refresh-ahead of the access-token provider (./access_token.ts): a token in its last
 * minutes is handed out at once while one caller renews it in the background, so callers almost
 * never wait for Google.
 */

import {
  type GoogleAccessToken,
  remainingMs,
  type TokenDeps,
  tokenOf,
} from "./access_token_read.ts";
import { refreshHoldingLease, type RenewalTuning } from "./access_token_renewal.ts";
import { runInBackground } from "./background.ts";
import { describeForLog } from "./errors.ts";
import type { CalendarTokens } from "./token_store.ts";

/** The windows that decide what a token's remaining life calls for. */
export interface AheadWindows {
  /** A token expiring within this margin is not handed out: callers wait for a refresh. */
  marginMs: number;
  /** A token expiring within this window is renewed in the background. */
  aheadMs: number;
}

/**
 * What `row`'s token calls for: `fresh` (hand it out), `ahead` (hand it out and renew it in the
 * background) or `expired` (renew it before handing anything out).
 */
export function freshness(
  row: CalendarTokens,
  windows: AheadWindows,
  now = Date.now(),
): "fresh" | "ahead" | "expired" {
  const left = remainingMs(row, now);
  if (left > windows.aheadMs) return "fresh";
  return left > windows.marginMs ? "ahead" : "expired";
}

/**
 * Hands out `row`'s token and renews its grant after the answer, holding `leaseId`: the next
 * caller sees any failure (the lease records it).
 */
export function renewAhead(
  deps: TokenDeps,
  tuning: RenewalTuning,
  row: CalendarTokens,
  leaseId: string,
): GoogleAccessToken {
  runInBackground(
    refreshHoldingLease(deps, tuning, row, leaseId)
      .catch((error) =>
        console.warn(`access_token: renewal ahead for ${row.userId}: ${describeForLog(error)}`)
      ),
  );
  return tokenOf(row);
}
