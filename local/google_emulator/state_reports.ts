/**
 * The emulator's reports: what it issued to an account (the test controls' view) and its
 * counters, zeroed.
 *
 * @module
 */

import { normaliseEmail } from "./http.ts";
import type { AccessRecord, Account, RefreshRecord } from "./state_records.ts";
import type {
  AccountTokens,
  EmulatorStats,
  IssuedAccessToken,
  IssuedRefreshToken,
} from "./types.ts";

/** The counters of EmulatorState.stats: every stat but the live count of pending faults. */
export type Counters = Omit<EmulatorStats, "faultsPending">;

/** What a token report reads of the state. */
export interface TokenView {
  readonly accounts: ReadonlyMap<string, Account>;
  readonly refreshTokens: ReadonlyMap<string, RefreshRecord>;
  readonly accessTokens: ReadonlyMap<string, AccessRecord>;
  now(): number;
}

/** What the emulator issued to an account, or undefined for an account never seen. */
export function accountTokens(state: TokenView, rawEmail: string): AccountTokens | undefined {
  const account = state.accounts.get(normaliseEmail(rawEmail));
  if (account === undefined) return undefined;
  const iso = (ms: number) => new Date(ms).toISOString();
  const refresh: IssuedRefreshToken[] = [];
  for (const [token, record] of state.refreshTokens) {
    if (record.email !== account.email || record.revoked) continue;
    refresh.push({
      token,
      clientId: record.clientId,
      scope: record.scopes.join(" "),
      createdAt: iso(record.createdAt),
      lastUsedAt: iso(record.lastUsedAt),
      expiresAt: record.expiresAt === undefined ? null : iso(record.expiresAt),
    });
  }
  const access: IssuedAccessToken[] = [];
  for (const [token, record] of state.accessTokens) {
    if (record.email !== account.email || record.revoked) continue;
    access.push({
      token,
      clientId: record.clientId,
      scope: record.scopes.join(" "),
      issuedAt: iso(record.issuedAt),
      expiresAt: iso(record.expiresAt),
      expiresAtMs: record.expiresAt,
      expired: record.invalidated || record.expiresAt <= state.now(),
      refreshToken: record.refreshToken ?? null,
    });
  }
  return {
    email: account.email,
    sub: account.sub,
    emailVerified: account.emailVerified,
    refreshTokens: refresh,
    accessTokens: access,
    latestAccessToken: access.at(-1) ?? null,
  };
}

/** Counters all zero. */
export function emptyStats(): Counters {
  const counts = () => ({ ok: 0, error: 0 });
  return {
    tokenGrants: { authorization_code: counts(), refresh_token: counts(), other: counts() },
    revocations: counts(),
    accountRevocations: 0,
    eventsCalls: counts(),
    calendarCalls: {},
    blockedAuthorizations: 0,
    faultsServed: { token: 0, revoke: 0, events: 0 },
  };
}
