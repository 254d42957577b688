/**
 * The OAuth `state`: a short-lived HS256 JWT naming the pending flow (jti). Its signature means
 * nobody can make the callback store tokens for a user they chose.
 *
 * It does not carry the user id: the state travels through Google's URL, browser history and
 * proxy logs, and the jti is enough (the callback takes the user from the pending flow). For
 * defence in depth it carries `ubd`, an HMAC of (jti, user id) under the state secret: the
 * callback checks that the flow it took out belongs to the user the state was signed for, so a
 * correctly signed state can never complete another user's flow, even if a flow row were
 * altered. Keyed and mixed with the jti, `ubd` says nothing about the user and links no two
 * links of the same user.
 */

import { base64url, errors, jwtVerify, SignJWT } from "jose";
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

/** A verified state: which flow, bound to which (hidden) user, until when. */
export interface OAuthState {
  jti: string;
  /** HMAC of (jti, user id); check it with stateBelongsTo once the flow names the user. */
  userBinding: string;
  expiresAt: Date;
}

const BINDING_LABEL = "oauth-state-user-binding";

/**
 * The `ubd` claim: base64url HMAC-SHA-256 under the state secret of a label, the jti and the
 * user id, NUL-separated (a JWS signing input never holds a NUL, so no confusion with one).
 */
export async function userBinding(
  key: StateKey,
  flow: { jti: string; userId: string },
): Promise<string> {
  const secret = key.secret instanceof Uint8Array
    ? await crypto.subtle.importKey(
      "raw",
      key.secret as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    )
    : key.secret;
  const data = new TextEncoder().encode(
    `${BINDING_LABEL}\0${flow.jti.toLowerCase()}\0${flow.userId.toLowerCase()}`,
  );
  return base64url.encode(new Uint8Array(await crypto.subtle.sign("HMAC", secret, data)));
}

/** True when `state` was signed for `userId` (the user its flow names). Constant time. */
export async function stateBelongsTo(
  key: StateKey,
  state: OAuthState,
  userId: string,
): Promise<boolean> {
  const expected = await userBinding(key, { jti: state.jti, userId });
  if (expected.length !== state.userBinding.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) {
    diff |= expected.charCodeAt(i) ^ state.userBinding.charCodeAt(i);
  }
  return diff === 0;
}

/** Signs a state for flow `jti` of `userId`, valid `ttlSeconds` from `now`. */
export async function signState(
  key: StateKey,
  options: { userId: string; jti: string; ttlSeconds: number; now?: Date },
): Promise<{ state: string; expiresAt: Date }> {
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const exp = iat + options.ttlSeconds;
  const ubd = await userBinding(key, { jti: options.jti, userId: options.userId });
  const state = await new SignJWT({ ubd })
    .setProtectedHeader({ alg: "HS256", typ: STATE_TYP })
    .setJti(options.jti)
    .setIssuer(key.issuer)
    .setAudience(key.audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key.secret);
  return { state, expiresAt: new Date(exp * 1000) };
}

/**
 * Verifies signature (HS256 only), typ, iss, aud and expiry, that jti is a UUID, and that the
 * user binding is there. A state carrying a user id (`sub`, as older links did) is refused.
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
      requiredClaims: ["jti", "iat", "exp", "ubd"],
      clockTolerance: 5,
      ...(options.now ? { currentDate: options.now } : {}),
    });
    const ubd = payload.ubd;
    if (
      payload.sub !== undefined || !UUID_PATTERN.test(payload.jti ?? "") ||
      typeof ubd !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(ubd)
    ) {
      throw new AppError("state_invalid", "The sign-in link is not valid.");
    }
    return {
      jti: payload.jti!.toLowerCase(),
      userBinding: ubd,
      expiresAt: new Date(payload.exp! * 1000),
    };
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (error instanceof errors.JWTExpired) {
      throw new AppError("state_expired", "The sign-in link has expired.", { cause: error });
    }
    throw new AppError("state_invalid", "The sign-in link is not valid.", { cause: error });
  }
}
