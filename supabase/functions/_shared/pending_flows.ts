/** Pending consent flows: the PKCE verifier kept server side, keyed by the state's jti. */

import { AppError } from "./errors.ts";
import { type AdminClient, databaseError } from "./supabase_admin.ts";

/**
 * Records a new flow in one round trip (see google_oauth_begin_flow): fails with `user_not_found`
 * for an unknown user; says whether a refresh token is already held for the user.
 */
export async function beginFlow(
  db: AdminClient,
  flow: { userId: string; jti: string; codeVerifier: string; expiresAt: Date; maxPending: number },
): Promise<{ hasRefreshToken: boolean }> {
  const { data, error } = await db.rpc("google_oauth_begin_flow", {
    p_user_id: flow.userId,
    p_jti: flow.jti,
    p_code_verifier: flow.codeVerifier,
    p_expires_at: flow.expiresAt.toISOString(),
    p_max_pending: flow.maxPending,
  });
  if (error) throw databaseError(error);
  const result = data as { user_exists?: boolean; has_refresh_token?: boolean } | null;
  if (!result?.user_exists) throw new AppError("user_not_found", "There is no such user.");
  return { hasRefreshToken: result.has_refresh_token === true };
}

/**
 * Takes the flow out of the table: one DELETE … RETURNING, so of two callbacks racing with the
 * same state exactly one gets the verifier. Null when it was already used or never existed.
 */
export async function consumeFlow(
  db: AdminClient,
  flow: { jti: string; userId: string },
): Promise<{ codeVerifier: string; expiresAt: Date } | null> {
  const { data, error } = await db
    .from("google_oauth_pending_flows")
    .delete()
    .eq("jti", flow.jti)
    .eq("user_id", flow.userId)
    .select("code_verifier, expires_at");
  if (error) throw databaseError(error);
  const row = data?.[0];
  return row ? { codeVerifier: row.code_verifier, expiresAt: new Date(row.expires_at) } : null;
}
