/** Pending consent flows: the PKCE verifier kept server side, keyed by the state's jti. */

import { AppError } from "./errors.ts";
import { type AdminClient, databaseError, nullable } from "./supabase_admin.ts";

/** A flow taken out of the table by the callback. */
export interface PendingFlow {
  userId: string;
  codeVerifier: string;
  expiresAt: Date;
  /** The Google account the bot expects (`expected_google_email`), if it named one. */
  expectedGoogleEmail: string | null;
}

/**
 * Records a new flow in one round trip (see google_oauth_begin_flow): only the newest link of a
 * user works, so every older unused flow of the user is voided. Fails with `user_not_found` for
 * an unknown user; says whether a refresh token is already held for the user.
 */
export async function beginFlow(
  db: AdminClient,
  flow: {
    userId: string;
    jti: string;
    codeVerifier: string;
    expiresAt: Date;
    expectedGoogleEmail?: string | undefined;
  },
): Promise<{ hasRefreshToken: boolean }> {
  const { data, error } = await db.rpc("google_oauth_begin_flow", {
    p_user_id: flow.userId,
    p_jti: flow.jti,
    p_code_verifier: flow.codeVerifier,
    p_expires_at: flow.expiresAt.toISOString(),
    p_expected_google_email: nullable(flow.expectedGoogleEmail),
  });
  if (error) throw databaseError(error);
  const result = data as { user_exists?: boolean; has_refresh_token?: boolean } | null;
  if (!result?.user_exists) throw new AppError("user_not_found", "There is no such user.");
  return { hasRefreshToken: result.has_refresh_token === true };
}

/**
 * Takes the flow out of the table: one DELETE … RETURNING, so of two callbacks racing with the
 * same state exactly one gets the verifier. Null when it was already used, voided by a newer
 * link, or never existed.
 */
export async function consumeFlow(db: AdminClient, jti: string): Promise<PendingFlow | null> {
  const { data, error } = await db.rpc("google_oauth_consume_flow", { p_jti: jti });
  if (error) throw databaseError(error);
  const row = (Array.isArray(data) ? data[0] : data) as
    | {
      user_id?: string;
      code_verifier?: string;
      expires_at?: string;
      expected_google_email?: string | null;
    }
    | null
    | undefined;
  if (!row?.user_id || !row.code_verifier || !row.expires_at) return null;
  return {
    userId: row.user_id,
    codeVerifier: row.code_verifier,
    expiresAt: new Date(row.expires_at),
    expectedGoogleEmail: row.expected_google_email ?? null,
  };
}
