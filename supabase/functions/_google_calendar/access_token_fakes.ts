/**
 * In-memory stand-ins for the access-token provider's unit tests (imported by *_test.ts only):
 * one token row and a compare-and-set lease, with the database's semantics, and a Google whose
 * refresh answers as told.
 */

import { CALENDAR_SCOPE } from "./google_facts.ts";
import type { GoogleOAuth, GoogleTokenSet } from "./google_oauth.ts";
import type { LeaseWait, RefreshedTokens, RefreshLease } from "./refresh_lease.ts";
import type { CalendarTokens, DeleteGrantOptions, TokenStore } from "./token_store.ts";

/** The user of every fake row. */
export const USER = "6f1c2a4e-0000-4000-8000-000000000001";

/** In-memory stand-ins with the database's semantics: one row, a compare-and-set lease. */
export function fakes(row: Partial<CalendarTokens> | null, refresh: () => Promise<GoogleTokenSet>) {
  let stored: CalendarTokens | null = row && {
    userId: USER,
    grantId: "grant-1",
    accessToken: "old-access",
    refreshToken: "1//refresh",
    expiresAt: new Date(Date.now() + 3600_000),
    refreshTokenExpiresAt: null,
    scopes: [CALENDAR_SCOPE],
    googleSub: "sub-1",
    googleEmail: "ana@example.com",
    connectedAt: null,
    updatedAt: null,
    lastRefreshAt: null,
    lastRefreshError: null,
    ...row,
  };
  let lease: string | null = null;
  const log = {
    refreshes: 0,
    deletes: [] as DeleteGrantOptions[],
    releases: [] as (string | undefined)[],
    saves: [] as RefreshedTokens[],
    waits: 0,
    reads: 0,
    acquires: 0,
  };
  const waiters: (() => void)[] = [];
  const tokens: TokenStore = {
    get: () => Promise.resolve(stored && { ...stored }),
    save: () => Promise.reject(new Error("not used")),
    delete(_userId, options) {
      log.deletes.push(options);
      if (!stored || (options.grantId && options.grantId !== stored.grantId)) {
        return Promise.resolve(false);
      }
      stored = null;
      return Promise.resolve(true);
    },
    linkedGoogleAccounts: () => Promise.reject(new Error("not used")),
  };
  const leaseOps: RefreshLease = {
    acquire(_userId, leaseId) {
      log.acquires++;
      if (lease !== null || !stored) return Promise.resolve(false);
      lease = leaseId;
      return Promise.resolve(true);
    },
    readForUse(_userId, { refreshBefore, leaseId }) {
      log.reads++;
      if (!stored) return Promise.resolve({ row: null, leased: false });
      const due = stored.expiresAt !== null && stored.expiresAt <= refreshBefore;
      if (due && lease === null) {
        lease = leaseId;
        return Promise.resolve({ row: { ...stored }, leased: true });
      }
      return Promise.resolve({ row: { ...stored }, leased: false });
    },
    awaitRelease(): Promise<LeaseWait> {
      log.waits++;
      const released = (): LeaseWait =>
        stored ? { state: "released", row: { ...stored } } : { state: "gone" };
      if (lease === null) return Promise.resolve(released());
      return new Promise((resolve) => waiters.push(() => resolve(released())));
    },
    saveRefreshed(_userId, leaseId, t) {
      if (lease !== leaseId || !stored) return Promise.resolve(false);
      log.saves.push(t);
      stored = {
        ...stored,
        accessToken: t.accessToken,
        refreshToken: t.refreshToken,
        expiresAt: t.expiresAt,
        scopes: t.scopes.length ? t.scopes : stored.scopes,
      };
      lease = null;
      waiters.splice(0).forEach((w) => w());
      return Promise.resolve(true);
    },
    release(_userId, leaseId, failure) {
      log.releases.push(failure);
      if (lease === leaseId) {
        lease = null;
        waiters.splice(0).forEach((w) => w());
      }
      return Promise.resolve();
    },
  };
  const google = {
    refresh: () => {
      log.refreshes++;
      return refresh();
    },
  } as unknown as GoogleOAuth;
  return {
    log,
    tokens,
    lease: leaseOps,
    google,
    row: () => stored,
    holdLease: (id: string) => (lease = id),
  };
}

/** A token set Google might answer a refresh with: valid for an hour. */
export const fresh = (accessToken = "new-access", scopes = [CALENDAR_SCOPE]): GoogleTokenSet => ({
  accessToken,
  refreshToken: null,
  expiresAt: new Date(Date.now() + 3600_000),
  refreshTokenExpiresAt: null,
  scopes,
});
