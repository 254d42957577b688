/**
 * The per-user token store other functions import: read, save and delete a user's Google tokens,
 * encrypted at rest, through PostgREST with the functions' own service credentials.
 */

import type { Tables, TablesUpdate } from "./database.types.ts";
import { AppError } from "./errors.ts";
import { getServices } from "./services.ts";
import { type AdminClient, databaseError } from "./supabase_admin.ts";
import { decryptToken, encryptToken, type Keyring, TokenDecryptError } from "./token_crypto.ts";

export const TOKENS_TABLE = "google_calendar_tokens";

export interface CalendarTokens {
  userId: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: Date | null;
  scopes: string[];
  googleSub: string | null;
  googleEmail: string | null;
  updatedAt: Date | null;
  lastRefreshAt: Date | null;
  /** The error code of the last failed refresh, cleared by the next success. */
  lastRefreshError: string | null;
}

export interface RefreshedTokens {
  /** The lease the refresher holds; the write happens only while it still holds it. */
  leaseId: string;
  accessToken: string;
  /** Google rarely rotates refresh tokens; null keeps the stored one. */
  refreshToken: string | null;
  expiresAt: Date | null;
  scopes: string[];
}

export interface SaveTokensInput {
  userId: string;
  accessToken: string;
  /** Null when Google sent none: the stored one is kept, if it is for the same Google account. */
  refreshToken: string | null;
  expiresAt: Date | null;
  scopes: string[];
  googleSub: string;
  googleEmail: string | null;
}

export interface TokenStore {
  /** The user's decrypted tokens, or null when not connected (or the row does not decrypt). */
  get(userId: string): Promise<CalendarTokens | null>;
  /** Upserts one row per user; see SaveTokensInput.refreshToken. */
  save(input: SaveTokensInput): Promise<void>;
  /** True when a row was deleted. */
  delete(userId: string): Promise<boolean>;
  /** Writes a refresh's result and releases the lease; false when the lease was lost. */
  saveRefreshed(userId: string, tokens: RefreshedTokens): Promise<boolean>;
  /** Lets go of the lease, leaving the tokens as they were; `failure` is recorded for status. */
  releaseLease(userId: string, leaseId: string, failure?: string): Promise<void>;
}

type TokenRow = Pick<
  Tables<"google_calendar_tokens">,
  | "user_id"
  | "access_token"
  | "refresh_token"
  | "token_expiry"
  | "scopes"
  | "google_sub"
  | "google_email"
  | "updated_at"
  | "last_refresh_at"
  | "last_refresh_error"
>;

const COLUMNS = "user_id, access_token, refresh_token, token_expiry, scopes, google_sub, " +
  "google_email, updated_at, last_refresh_at, last_refresh_error";

export function createTokenStore(db: AdminClient, keyring: Keyring): TokenStore {
  const store: TokenStore = {
    async get(userId) {
      const { data, error } = await db.from(TOKENS_TABLE).select(COLUMNS).eq("user_id", userId)
        .maybeSingle<TokenRow>();
      if (error) throw databaseError(error);
      if (!data) return null;
      try {
        const [accessToken, refreshToken] = await Promise.all([
          decryptToken(keyring, data.access_token, { userId, field: "access_token" }),
          decryptToken(keyring, data.refresh_token, { userId, field: "refresh_token" }),
        ]);
        return {
          userId,
          accessToken,
          refreshToken,
          expiresAt: data.token_expiry ? new Date(data.token_expiry) : null,
          scopes: data.scopes ?? [],
          googleSub: data.google_sub,
          googleEmail: data.google_email,
          updatedAt: data.updated_at ? new Date(data.updated_at) : null,
          lastRefreshAt: data.last_refresh_at ? new Date(data.last_refresh_at) : null,
          lastRefreshError: data.last_refresh_error,
        };
      } catch (error) {
        if (!(error instanceof TokenDecryptError)) throw error;
        // A rotated-away key, or a row the user wrote themself through RLS: unusable, so the
        // user is not connected. Logged without any of the row's content.
        console.warn(`token_store: stored tokens for user ${userId} do not decrypt; ignoring them`);
        return null;
      }
    },

    async save(input) {
      const { userId } = input;
      const common = {
        access_token: await encryptToken(keyring, input.accessToken, {
          userId,
          field: "access_token",
        }),
        token_expiry: input.expiresAt?.toISOString() ?? null,
        scopes: input.scopes,
        google_sub: input.googleSub,
        google_email: input.googleEmail,
        updated_at: new Date().toISOString(),
        // New consent: an in-flight refresh of the old grant must not write over it.
        refresh_lease_id: null,
        refresh_lease_until: null,
        last_refresh_error: null,
      };
      if (input.refreshToken !== null) {
        const refresh_token = await encryptToken(keyring, input.refreshToken, {
          userId,
          field: "refresh_token",
        });
        const { error } = await db.from(TOKENS_TABLE).upsert(
          { user_id: userId, ...common, refresh_token },
          { onConflict: "user_id" },
        );
        if (error) throw databaseError(error);
        return;
      }
      // Google sends a refresh token only on first consent. Keep ours (never overwrite it with
      // nothing), but only if it still decrypts and is for the same Google account: another
      // account's access token beside our refresh token would cross-wire two accounts.
      const current = await store.get(userId);
      if (current?.googleSub === input.googleSub) {
        const { data, error } = await db.from(TOKENS_TABLE).update(common)
          .eq("user_id", userId).eq("google_sub", input.googleSub).select("user_id");
        if (error) throw databaseError(error);
        if (data?.length) return;
      }
      // Nothing stored; the mark makes the next link ask Google for consent again (which
      // brings a refresh token), while the row we had stays as it was.
      const { error } = await db.from(TOKENS_TABLE).update({
        last_refresh_error: "google_refresh_token_missing",
      }).eq("user_id", userId);
      if (error) throw databaseError(error);
      throw new AppError(
        "google_refresh_token_missing",
        "Google did not give lasting access. Ask for a new link and approve access again.",
      );
    },

    async delete(userId) {
      const { data, error } = await db.from(TOKENS_TABLE).delete().eq("user_id", userId)
        .select("user_id");
      if (error) throw databaseError(error);
      return (data?.length ?? 0) > 0;
    },

    async saveRefreshed(userId, tokens) {
      const now = new Date().toISOString();
      const update: TablesUpdate<"google_calendar_tokens"> = {
        access_token: await encryptToken(keyring, tokens.accessToken, {
          userId,
          field: "access_token",
        }),
        token_expiry: tokens.expiresAt?.toISOString() ?? null,
        updated_at: now,
        last_refresh_at: now,
        last_refresh_error: null,
        refresh_lease_id: null,
        refresh_lease_until: null,
      };
      if (tokens.scopes.length > 0) update.scopes = tokens.scopes;
      if (tokens.refreshToken !== null) {
        update.refresh_token = await encryptToken(keyring, tokens.refreshToken, {
          userId,
          field: "refresh_token",
        });
      }
      const { data, error } = await db.from(TOKENS_TABLE).update(update)
        .eq("user_id", userId).eq("refresh_lease_id", tokens.leaseId).select("user_id");
      if (error) throw databaseError(error);
      return (data?.length ?? 0) > 0;
    },

    async releaseLease(userId, leaseId, failure) {
      const { error } = await db.from(TOKENS_TABLE).update({
        refresh_lease_id: null,
        refresh_lease_until: null,
        ...(failure ? { last_refresh_error: failure } : {}),
      }).eq("user_id", userId).eq("refresh_lease_id", leaseId);
      if (error) throw databaseError(error);
    },
  };
  return store;
}

/** Decrypted tokens for `userId`, or null when that user has not connected Google Calendar. */
export function getCalendarTokens(userId: string): Promise<CalendarTokens | null> {
  return getServices().tokens.get(userId);
}

export function saveCalendarTokens(input: SaveTokensInput): Promise<void> {
  return getServices().tokens.save(input);
}

export function deleteCalendarTokens(userId: string): Promise<boolean> {
  return getServices().tokens.delete(userId);
}
