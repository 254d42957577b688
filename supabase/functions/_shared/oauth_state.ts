/**
 * The OAuth `state`: a short-lived HS256 JWT naming the user and the pending flow (jti). Its
 * signature means nobody can make the callback store tokens for a user they chose.
 */

import { errors, jwtVerify, SignJWT } from "jose";
import { AppError } from "./errors.ts";
import { UUID_PATTERN } from "./ids.ts";

export const STATE_TYP = "oauth-state+jwt";

export interface StateKey {
  /** The raw secret, or (faster: imported once, not on every use) its HMAC CryptoKey. */
  secret: Uint8Array | CryptoKey;
  issuer: string;
  audience: string;
}

/** The state key with its secret imported once as an HMAC-SHA-256 CryptoKey. */
export async function importStateKey(
  state: { secret: Uint8Array<ArrayBuffer>; issuer: string; audience: string },
): Promise<StateKey> {
  const secret = await crypto.subtle.importKey(
    "raw",
    state.secret,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  return { secret, issuer: state.issuer, audience: state.audience };
}

export interface OAuthState {
  userId: string;
  jti: string;
  expiresAt: Date;
}

/** Signs a state for `userId` and flow `jti`, valid `ttlSeconds` from `now`. */
export async function signState(
  key: StateKey,
  options: { userId: string; jti: string; ttlSeconds: number; now?: Date },
): Promise<{ state: string; expiresAt: Date }> {
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const exp = iat + options.ttlSeconds;
  const state = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: STATE_TYP })
    .setSubject(options.userId)
    .setJti(options.jti)
    .setIssuer(key.issuer)
    .setAudience(key.audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key.secret);
  return { state, expiresAt: new Date(exp * 1000) };
}

/**
 * Verifies signature (HS256 only), typ, iss, aud and expiry, and that sub and jti are UUIDs.
 * Throws AppError `state_expired` or `state_invalid`; never says more about why.
 */
export async function verifyState(
  key: StateKey,
  state: string,
  options: { now?: Date } = {},
): Promise<OAuthState> {
  if (state.length > 2048) throw new AppError("state_invalid", "The sign-in link is not valid.");
  try {
    const { payload } = await jwtVerify(state, key.secret, {
      algorithms: ["HS256"],
      typ: STATE_TYP,
      issuer: key.issuer,
      audience: key.audience,
      requiredClaims: ["sub", "jti", "iat", "exp"],
      clockTolerance: 5,
      ...(options.now ? { currentDate: options.now } : {}),
    });
    if (!UUID_PATTERN.test(payload.sub ?? "") || !UUID_PATTERN.test(payload.jti ?? "")) {
      throw new AppError("state_invalid", "The sign-in link is not valid.");
    }
    return { userId: payload.sub!, jti: payload.jti!, expiresAt: new Date(payload.exp! * 1000) };
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (error instanceof errors.JWTExpired) {
      throw new AppError("state_expired", "The sign-in link has expired.", { cause: error });
    }
    throw new AppError("state_invalid", "The sign-in link is not valid.", { cause: error });
  }
}
