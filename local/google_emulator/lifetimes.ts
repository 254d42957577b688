/**
 * When a refresh token stops working, per Google's "Refresh token expiration" rules: a fixed end
 * (Testing-mode apps, time-based access) and six months without use.
 *
 * @module
 */

import { isSignInScope } from "./scopes.ts";

/** Testing-mode refresh tokens live 7 days. */
export const TESTING_REFRESH_LIFETIME_SECONDS = 7 * 24 * 3600;
/** "The refresh token has not been used for six months": modelled as 183 days. */
export const INACTIVITY_LIMIT_MS = 183 * 24 * 3600 * 1000;

/** An OAuth consent screen's publishing status. */
export type PublishingStatus = "production" | "testing";

/**
 * The fixed lifetime (seconds) of a new refresh token, or undefined for none. In Testing, every
 * grant beyond the sign-in scopes (openid, email, profile) gets 7 days; a time-limited grant gets
 * the lifetime the person chose; with both, the shorter wins.
 */
export function refreshLifetimeSeconds(grant: {
  publishing: PublishingStatus;
  scopes: readonly string[];
  timeLimitSeconds: number | undefined;
}): number | undefined {
  const testing = grant.publishing === "testing" &&
      grant.scopes.some((scope) => !isSignInScope(scope))
    ? TESTING_REFRESH_LIFETIME_SECONDS
    : undefined;
  const limits = [testing, grant.timeLimitSeconds].filter((s): s is number => s !== undefined);
  return limits.length === 0 ? undefined : Math.min(...limits);
}

/** Why a refresh token no longer works, or undefined while it does. */
export function refreshTokenLapse(
  token: { lastUsedAt: number; expiresAt: number | undefined },
  now: number,
): "expired" | "inactive" | undefined {
  if (token.expiresAt !== undefined && token.expiresAt <= now) return "expired";
  if (now - token.lastUsedAt >= INACTIVITY_LIMIT_MS) return "inactive";
  return undefined;
}

/** `refresh_token_expires_in` for a token response: whole seconds left, or undefined. */
export function refreshTokenExpiresIn(
  expiresAt: number | undefined,
  now: number,
): number | undefined {
  return expiresAt === undefined ? undefined : Math.max(0, Math.floor((expiresAt - now) / 1000));
}
