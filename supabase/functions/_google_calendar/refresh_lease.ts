/**
 * The refresh lease, in one place: so that one refresh happens at Google however many function
 * instances need a user's token at once. A refresher takes the lease (compare-and-set on the
 * database's clock), writes its result only while it still holds it, and always lets go. Others
 * wait for it inside the database, which wakes them within milliseconds of the release.
 */

import type { TablesUpdate } from "./database.types.ts";
import { type AdminClient, databaseError } from "./supabase_admin.ts";
import { encryptToken, type Keyring } from "./token_crypto.ts";
import { type CalendarTokens, readGrant, type TokenRow, TOKENS_TABLE } from "./token_store.ts";

/** A refresh's result, written under the lease. */
export interface RefreshedTokens {
  accessToken: string;
  /** The refresh token used (or the new one Google rotated to): rewritten under the current key. */
  refreshToken: string;
  expiresAt: Date | null;
  /** Null keeps the stored expiry of a time-limited grant. */
  refreshTokenExpiresAt: Date | null;
  scopes: string[];
}

/** How a wait for another process's refresh ended; `released` brings the row as it now is. */
export type LeaseWait =
  | { state: "released"; row: CalendarTokens | null }
  | { state: "gone" }
  | { state: "timeout" };

/** A grant read for use: the row, and whether the read also took the refresh lease. */
export interface ReadForUse {
  row: CalendarTokens | null;
  /** The caller now holds the lease (taken only for a token expiring by `refreshBefore`). */
  leased: boolean;
}

/** The lease operations, for one database. */
export interface RefreshLease {
  /** True when the caller now holds the user's lease for `seconds`. */
  acquire(userId: string, leaseId: string, seconds: number): Promise<boolean>;
  /**
   * One round trip: the user's grant, decrypted, and, when its access token expires by
   * `refreshBefore`, the lease too if nobody holds it (then `row` is the row it was taken on).
   */
  readForUse(
    userId: string,
    options: { refreshBefore: Date; leaseId: string; seconds: number },
  ): Promise<ReadForUse>;
  /**
   * Waits (in the database) until nobody holds a live lease, the row is gone, or `timeoutMs`;
   * a release brings the row, so a waiter need not read it again.
   */
  awaitRelease(userId: string, timeoutMs: number): Promise<LeaseWait>;
  /** Writes a refresh's result and lets go; false when the lease was lost (nothing written). */
  saveRefreshed(userId: string, leaseId: string, tokens: RefreshedTokens): Promise<boolean>;
  /** Lets go, leaving the tokens as they were; `failure` is recorded for status. */
  release(userId: string, leaseId: string, failure?: string): Promise<void>;
}

/**
 * Builds the lease operations over `db`; results are encrypted with `keyring`'s current key.
 * One wait RPC holds a database connection at most `maxWaitMs` (kept under the HTTP timeout);
 * waiters call again until their deadline.
 */
export function createRefreshLease(
  db: AdminClient,
  keyring: Keyring,
  options: { maxWaitMs: number },
): RefreshLease {
  return {
    async acquire(userId, leaseId, seconds) {
      const { data, error } = await db.rpc("google_token_acquire_refresh_lease", {
        p_user_id: userId,
        p_lease_id: leaseId,
        p_lease_seconds: seconds,
      });
      if (error) throw databaseError(error);
      return data === true;
    },

    async readForUse(userId, { refreshBefore, leaseId, seconds }) {
      const { data, error } = await db.rpc("google_token_read_for_use", {
        p_user_id: userId,
        p_refresh_before: refreshBefore.toISOString(),
        p_lease_id: leaseId,
        p_lease_seconds: seconds,
      });
      if (error) throw databaseError(error);
      if (!data) return { row: null, leased: false };
      const row = data as unknown as TokenRow & { leased?: boolean };
      return { row: await readGrant(keyring, row), leased: row.leased === true };
    },

    async awaitRelease(userId, timeoutMs) {
      const { data, error } = await db.rpc("google_token_await_row", {
        p_user_id: userId,
        p_timeout_ms: Math.max(0, Math.min(Math.round(timeoutMs), options.maxWaitMs)),
      });
      if (error) throw databaseError(error);
      const answer = data as { state?: string; row?: TokenRow } | null;
      if (answer?.state === "gone") return { state: "gone" };
      if (answer?.state === "released" && answer.row) {
        return { state: "released", row: await readGrant(keyring, answer.row) };
      }
      return { state: "timeout" };
    },

    async saveRefreshed(userId, leaseId, tokens) {
      const now = new Date().toISOString();
      // Both ciphertexts under the current key, so every refresh also retires old keys' rows.
      const [access, refresh] = await Promise.all([
        encryptToken(keyring, tokens.accessToken, { userId, field: "access_token" }),
        encryptToken(keyring, tokens.refreshToken, { userId, field: "refresh_token" }),
      ]);
      const update: TablesUpdate<"google_calendar_tokens"> = {
        access_token: access,
        refresh_token: refresh,
        token_expiry: tokens.expiresAt?.toISOString() ?? null,
        updated_at: now,
        last_refresh_at: now,
        refresh_token_used_at: now,
        last_refresh_error: null,
        refresh_lease_id: null,
        refresh_lease_until: null,
      };
      if (tokens.scopes.length > 0) update.scopes = tokens.scopes;
      if (tokens.refreshTokenExpiresAt) {
        update.refresh_token_expires_at = tokens.refreshTokenExpiresAt.toISOString();
      }
      const { data, error } = await db.from(TOKENS_TABLE).update(update)
        .eq("user_id", userId).eq("refresh_lease_id", leaseId).select("user_id");
      if (error) throw databaseError(error);
      return (data?.length ?? 0) > 0;
    },

    async release(userId, leaseId, failure) {
      const { error } = await db.from(TOKENS_TABLE).update({
        refresh_lease_id: null,
        refresh_lease_until: null,
        ...(failure ? { last_refresh_error: failure } : {}),
      }).eq("user_id", userId).eq("refresh_lease_id", leaseId);
      if (error) throw databaseError(error);
    },
  };
}
