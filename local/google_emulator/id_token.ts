/** Signs the OpenID Connect ID token Google returns with the `openid` scope. */

import * as jose from "jose";
import { accessTokenHash } from "./crypto_utils.ts";
import type { Account, EmulatorState } from "./state.ts";

/** ID tokens live one hour, like Google's. */
export const ID_TOKEN_TTL_SECONDS = 3600;

/** The `iss` claim: the issuer URL, or without its scheme in "bare" style. */
export function idTokenIssuer(issuer: string, style: "url" | "bare"): string {
  return style === "bare" ? issuer.replace(/^https?:\/\//, "") : issuer;
}

/** True when the scopes bring the email claims (`email` or `userinfo.email`). */
export function grantsEmail(scopes: readonly string[]): boolean {
  return scopes.includes("email") ||
    scopes.includes("https://www.googleapis.com/auth/userinfo.email");
}

/** Signs an ID token for the account and grant. */
export async function signIdToken(
  state: EmulatorState,
  account: Account,
  grant: { clientId: string; scopes: string[]; accessToken: string; nonce: string | undefined },
): Promise<string> {
  const iat = Math.floor(state.now() / 1000);
  const claims: jose.JWTPayload & Record<string, unknown> = {
    iss: idTokenIssuer(state.issuer, state.config.idTokenIssuerStyle),
    azp: grant.clientId,
    aud: grant.clientId,
    sub: account.sub,
  };
  // Like Google, the email claims come with the email scope only.
  if (grantsEmail(grant.scopes)) {
    claims.email = account.email;
    claims.email_verified = account.emailVerified;
  }
  claims.at_hash = await accessTokenHash(grant.accessToken);
  if (grant.nonce !== undefined) claims.nonce = grant.nonce;
  claims.iat = iat;
  claims.exp = iat + ID_TOKEN_TTL_SECONDS;
  return await new jose.SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: state.kid, typ: "JWT" })
    .sign(state.signingKey);
}
