/**
 * The per-user token store: read a user's grant (decrypted), save a new consent, delete a grant.
 * Writes go through the database's RPCs, so the lifecycle event and the revocation-queue row
 * they imply are written in the same transaction as the change (see docs/database.md).
 * The refresh lease, and writing a refresh's result under it, live in refresh_lease.ts.
 */

import type { Tables } from "./database.types.ts";
import { AppError } from "./errors.ts";
import { type AdminClient, databaseError, nullable } from "./supabase_admin.ts";
import { decryptToken, encryptToken, type Keyring, TokenDecryptError } from "./token_crypto.ts";

/** The table of grants, one row per user. */
export const TOKENS_TABLE = "google_calendar_tokens";

/** A user's stored grant, decrypted. */
export interface CalendarTokens {
  userId: string;
  /** Identity of this grant: new on every consent, so a late writer cannot touch a newer one. */
  grantId: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: Date | null;
  /** When the refresh token lapses (time-limited grants); null when it does not. */
  refreshTokenExpiresAt: Date | null;
  scopes: string[];
  googleSub: string | null;
  googleEmail: string | null;
  connectedAt: Date | null;
  updatedAt: Date | null;
  lastRefreshAt: Date | null;
  /** The error code of the last failed refresh, cleared by the next success. */
  lastRefreshError: string | null;
}

/** A consent's result, to be stored as the user's grant. */
export interface SaveGrantInput {
  userId: string;
  accessToken: string;
  /** Null when Google sent none: the stored one is kept, if it is for the same Google account. */
  refreshToken: string | null;
  expiresAt: Date | null;
  refreshTokenExpiresAt: Date | null;
  scopes: string[];
  googleSub: string;
  googleEmail: string | null;
}

/** What saving a consent did. */
export interface SaveGrantResult {
  grantId: string;
  /** A grant existed for this user before. */
  reconnected: boolean;
  /** The same Google account is also linked to at least one other user. */
  linkedToOtherUsers: boolean;
}

/** Why a grant is being deleted; recorded in the `disconnected` event. */
export type DeleteCause = "disconnect" | "reconnect_required";

/** How a grant is being deleted. */
export interface DeleteGrantOptions {
  /** Delete only this grant: a newer consent stored meanwhile is left alone. */
  grantId?: string;
  cause: DeleteCause;
  /** For `reconnect_required`: the code behind it (e.g. google_reconnect_required). */
  reason?: string;
  /** Google confirmed the revocation. */
  revokedAtGoogle: boolean;
  /** False when nothing is left to revoke (revoked, or Google already called it invalid). */
  needsRevocation: boolean;
}

/** Reads and writes users' grants. */
export interface TokenStore {
  /** The user's decrypted grant, or null when not connected (or the row does not decrypt). */
  get(userId: string): Promise<CalendarTokens | null>;
  /** Stores a consent; see SaveGrantInput.refreshToken. Throws google_refresh_token_missing. */
  save(input: SaveGrantInput): Promise<SaveGrantResult>;
  /** True when a row was deleted. */
  delete(userId: string, options: DeleteGrantOptions): Promise<boolean>;
  /**
   * Which of `googleSubs` a stored grant holds now (other than `exceptUserId`'s). Revoking any
   * token at Google ends that account's whole grant to us, every stored refresh token of it
   * included: ask this before revoking.
   */
  linkedGoogleAccounts(
    googleSubs: readonly string[],
    options?: { exceptUserId?: string },
  ): Promise<Set<string>>;
}

/** The columns a grant is read from. */
export const TOKEN_COLUMNS = "user_id, grant_id, access_token, refresh_token, token_expiry, " +
  "refresh_token_expires_at, scopes, google_sub, google_email, connected_at, updated_at, " +
  "last_refresh_at, last_refresh_error";

/** Builds the store over `db` with `keyring`; `webhooks` says whether events are queued. */
export function createTokenStore(
  db: AdminClient,
  keyring: Keyring,
  options: { webhooks: boolean },
): TokenStore {
  const store: TokenStore = {
    async get(userId) {
      const { data, error } = await db.from(TOKENS_TABLE).select(TOKEN_COLUMNS)
        .eq("user_id", userId).maybeSingle<TokenRow>();
      if (error) throw databaseError(error);
      return data ? await readGrant(keyring, data) : null;
    },

    async save(input) {
      const { userId } = input;
      let keepGrantId: string | null = null;
      if (input.refreshToken === null) {
        // Google sends a refresh token only on first consent. Keep ours, but only if it still
        // decrypts and is for the same Google account: another account's access token beside
        // our refresh token would cross-wire two accounts.
        const current = await store.get(userId);
        if (current?.googleSub === input.googleSub) keepGrantId = current.grantId;
      }
      const { data, error } = await db.rpc("google_calendar_save_grant", {
        p_user_id: userId,
        p_access_token: await encryptToken(keyring, input.accessToken, {
          userId,
          field: "access_token",
        }),
        // Null keeps the stored one (of grant p_keep_grant_id); the database checks the rest.
        p_refresh_token: nullable(
          input.refreshToken === null ? null : await encryptToken(keyring, input.refreshToken, {
            userId,
            field: "refresh_token",
          }),
        ),
        p_keep_grant_id: nullable(keepGrantId),
        p_token_expiry: nullable(input.expiresAt?.toISOString()),
        p_refresh_token_expires_at: nullable(input.refreshTokenExpiresAt?.toISOString()),
        p_scopes: input.scopes,
        p_google_sub: input.googleSub,
        p_google_email: nullable(input.googleEmail),
        p_webhooks: options.webhooks,
      });
      if (error) throw databaseError(error);
      const result = data as {
        saved?: boolean;
        grant_id?: string;
        reconnected?: boolean;
        google_account_linked_to_other_users?: boolean;
      } | null;
      if (!result?.saved || !result.grant_id) {
        // Nothing stored; the mark (set by the database) makes the next link ask Google for
        // consent again, which brings a refresh token. The row we had stays as it was.
        throw new AppError(
          "google_refresh_token_missing",
          "Google did not give lasting access. Ask for a new link and approve access again.",
        );
      }
      return {
        grantId: result.grant_id,
        reconnected: result.reconnected === true,
        linkedToOtherUsers: result.google_account_linked_to_other_users === true,
      };
    },

    async delete(userId, deletion) {
      const { data, error } = await db.rpc("google_calendar_delete_grant", {
        p_user_id: userId,
        p_grant_id: nullable(deletion.grantId),
        p_cause: deletion.cause,
        p_reason: nullable(deletion.reason),
        p_revoked_at_google: deletion.revokedAtGoogle,
        p_needs_revocation: deletion.needsRevocation,
        p_webhooks: options.webhooks,
      });
      if (error) throw databaseError(error);
      return data === true;
    },

    async linkedGoogleAccounts(googleSubs, linked = {}) {
      if (googleSubs.length === 0) return new Set();
      // Under each account's lock, shared with save_grant: a consent in flight is waited for.
      const { data, error } = await db.rpc("google_calendar_linked_accounts_locked", {
        p_google_subs: [...googleSubs],
        p_except_user_id: nullable(linked.exceptUserId),
      });
      if (error) throw databaseError(error);
      return new Set(data ?? []);
    },
  };
  return store;
}

/**
 * Queues the refresh token of a grant Google gave but no row holds (a partial consent, a save
 * that failed) for revocation, encrypted and bound to the user, with its Google account: the
 * maintenance pass revokes it only while no user holds that account.
 */
export async function queueUnsavedGrant(
  db: AdminClient,
  keyring: Keyring,
  grant: { userId: string; googleSub: string; refreshToken: string; cause: string },
): Promise<void> {
  const { error } = await db.rpc("google_calendar_queue_revocation", {
    p_user_id: grant.userId,
    p_google_sub: grant.googleSub,
    p_refresh_token: await encryptToken(keyring, grant.refreshToken, {
      userId: grant.userId,
      field: "refresh_token",
    }),
    p_cause: grant.cause,
  });
  if (error) throw databaseError(error);
}

/**
 * After a revoke of `googleSub` that found no other holder first: the grants of that account
 * saved since (other than `exceptUserId`'s) are marked for the next maintenance pass's keep-alive,
 * whose refresh tests them. Returns how many.
 */
export async function markAccountGrantsForRefreshTest(
  db: AdminClient,
  googleSub: string,
  exceptUserId: string,
): Promise<number> {
  const { data, error } = await db.rpc("google_calendar_test_account_grants", {
    p_google_sub: googleSub,
    p_except_user_id: exceptUserId,
  });
  if (error) throw databaseError(error);
  return data ?? 0;
}

/** A stored row, as PostgREST or an RPC's jsonb gives it. */
export type TokenRow = Pick<
  Tables<"google_calendar_tokens">,
  | "user_id"
  | "grant_id"
  | "access_token"
  | "refresh_token"
  | "token_expiry"
  | "refresh_token_expires_at"
  | "scopes"
  | "google_sub"
  | "google_email"
  | "connected_at"
  | "updated_at"
  | "last_refresh_at"
  | "last_refresh_error"
>;

/**
 * A stored row, decrypted; null when it does not decrypt (a retired key, or a row written by
 * hand): unusable, so the user is not connected. Logged without any of the row's content.
 */
export async function readGrant(keyring: Keyring, data: TokenRow): Promise<CalendarTokens | null> {
  const userId = data.user_id;
  try {
    const [accessToken, refreshToken] = await Promise.all([
      decryptToken(keyring, data.access_token, { userId, field: "access_token" }),
      decryptToken(keyring, data.refresh_token, { userId, field: "refresh_token" }),
    ]);
    return {
      userId,
      grantId: data.grant_id,
      accessToken,
      refreshToken,
      expiresAt: dateOrNull(data.token_expiry),
      refreshTokenExpiresAt: dateOrNull(data.refresh_token_expires_at),
      scopes: data.scopes ?? [],
      googleSub: data.google_sub,
      googleEmail: data.google_email,
      connectedAt: dateOrNull(data.connected_at),
      updatedAt: dateOrNull(data.updated_at),
      lastRefreshAt: dateOrNull(data.last_refresh_at),
      lastRefreshError: data.last_refresh_error,
    };
  } catch (error) {
    if (!(error instanceof TokenDecryptError)) throw error;
    console.warn(`token_store: stored tokens for user ${userId} do not decrypt; ignoring them`);
    return null;
  }
}

function dateOrNull(value: string | null | undefined): Date | null {
  return value ? new Date(value) : null;
}
