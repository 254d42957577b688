/**
 * Verifies a Security Event Token from Google's Cross-Account Protection and reads its events.
 * Pure apart from the key lookup it is given, so every refusal is a unit test.
 * https://developers.google.com/identity/protocols/risc#validate-security-event-tokens
 *
 * Refusals use RFC 8935 §2.4's error codes (the SET delivery protocol's own vocabulary, which
 * Google reads from a 400 body), not the kit's AppError codes.
 */

import { decodeProtectedHeader, importJWK, type JWK, jwtVerify } from "jose";
import {
  RISC_EVENT_ACTIONS,
  RISC_EVENT_TYPES,
  RISC_ISSUER,
  type RiscAction,
} from "./risc_facts.ts";

/** RFC 8935 §2.4 error codes a SET receiver answers with. */
export type SetErrorCode =
  | "invalid_request"
  | "invalid_key"
  | "invalid_issuer"
  | "invalid_audience";

/** A refused SET: an RFC 8935 code and a one-line description safe to send back. */
export class SetError extends Error {
  readonly code: SetErrorCode;
  constructor(code: SetErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = "SetError";
    this.code = code;
  }
}

/** Finds the public key of a `kid` in the transmitter's JWKS (refreshing it if it must). */
export type SetKeyLookup = (kid: string) => Promise<JWK | undefined>;

/** What the checks accept. */
export interface SetVerifyOptions {
  keys: SetKeyLookup;
  /** Our OAuth client ids: `aud` must be one of them. */
  audiences: readonly string[];
  /** Now, in seconds since 1970. */
  nowSeconds: number;
  /** An `iat` further in the future than this is refused (clock skew). */
  skewSeconds: number;
  /** An `iat` older than this is refused; the jti table keeps ids longer than this. */
  maxAgeSeconds: number;
}

/** One event of a verified SET, as the kit acts on it. */
export interface SetEvent {
  /** The event type URI. */
  type: string;
  action: RiscAction;
  /** The webhook reason for the action (e.g. google_tokens_revoked). */
  reason: string;
  /** The subject's Google account id (`sub` of an iss-sub subject from Google), if any. */
  googleSub: string | null;
  /** account-disabled: Google's reason (hijacking, bulk-account). */
  googleReason: string | null;
  /** verification: the state the registration sent. */
  state: string | null;
}

/** A verified SET. */
export interface VerifiedSet {
  jti: string;
  iat: number;
  events: SetEvent[];
}

/** Only RS256, as Google signs: never `none`, never an HMAC under a public key. */
export const SET_ALGORITHM = "RS256";
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_EVENTS = 16;

/** Verifies `token` (signature, alg, iss, aud, iat, jti) and reads its events; throws SetError. */
export async function verifySecurityEventToken(
  token: string,
  options: SetVerifyOptions,
): Promise<VerifiedSet> {
  if (!COMPACT_JWS.test(token)) {
    throw new SetError("invalid_request", "The body is not a signed JWT (compact JWS).");
  }
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch (cause) {
    throw new SetError("invalid_request", "The JWT header is not readable.", { cause });
  }
  if (header.alg !== SET_ALGORITHM) {
    throw new SetError("invalid_key", `Only ${SET_ALGORITHM} is accepted.`);
  }
  if (typeof header.kid !== "string" || header.kid === "") {
    throw new SetError("invalid_key", "The JWT header names no key (kid).");
  }
  const jwk = await options.keys(header.kid);
  if (jwk === undefined || jwk.kty !== "RSA") {
    throw new SetError("invalid_key", "The signing key is not in the transmitter's JWKS.");
  }
  let payload;
  try {
    const key = await importJWK({ ...jwk, alg: SET_ALGORITHM }, SET_ALGORITHM);
    ({ payload } = await jwtVerify(token, key, { algorithms: [SET_ALGORITHM] }));
  } catch (cause) {
    throw new SetError("invalid_key", "The signature does not verify.", { cause });
  }

  if (payload.iss !== RISC_ISSUER) {
    throw new SetError("invalid_issuer", `iss must be ${RISC_ISSUER}.`);
  }
  const aud = typeof payload.aud === "string" ? [payload.aud] : payload.aud ?? [];
  if (!aud.some((a) => options.audiences.includes(a))) {
    throw new SetError("invalid_audience", "aud is none of our OAuth client ids.");
  }
  const iat = payload.iat;
  if (typeof iat !== "number" || !Number.isFinite(iat)) {
    throw new SetError("invalid_request", "iat is missing.");
  }
  if (iat > options.nowSeconds + options.skewSeconds) {
    throw new SetError("invalid_request", "iat is in the future.");
  }
  if (iat < options.nowSeconds - options.maxAgeSeconds) {
    throw new SetError("invalid_request", "iat is too old.");
  }
  const jti = payload.jti;
  if (typeof jti !== "string" || jti.length < 1 || jti.length > 256) {
    throw new SetError("invalid_request", "jti must be a string of 1 to 256 characters.");
  }
  return { jti, iat, events: readEvents(payload.events) };
}

/** The `events` claim as the kit acts on it; unknown types become action none. */
export function readEvents(events: unknown): SetEvent[] {
  if (!isObject(events)) throw new SetError("invalid_request", "events must be an object.");
  const entries = Object.entries(events);
  if (entries.length === 0 || entries.length > MAX_EVENTS) {
    throw new SetError("invalid_request", `events must hold 1 to ${MAX_EVENTS} events.`);
  }
  return entries.map(([type, body]) => {
    const known = Object.hasOwn(RISC_EVENT_ACTIONS, type) ? RISC_EVENT_ACTIONS[type] : undefined;
    const event = isObject(body) ? body : {};
    const googleSub = googleSubOf(event.subject);
    return {
      type,
      // A known event without a Google iss-sub subject has nothing to act on.
      action: known && (known.action === "none" || googleSub !== null) ? known.action : "none",
      reason: known?.reason ?? "unknown",
      googleSub,
      googleReason: type === RISC_EVENT_TYPES.accountDisabled ? shortWord(event.reason) : null,
      state: type === RISC_EVENT_TYPES.verification && typeof event.state === "string"
        ? event.state.slice(0, 256)
        : null,
    };
  });
}

/**
 * How Google may spell its issuer inside an `id_token_claims` subject: those are ID-token
 * claims, and Google's ID tokens say `https://accounts.google.com` or `accounts.google.com`.
 */
const ID_TOKEN_ISSUERS: readonly string[] = [
  RISC_ISSUER,
  "https://accounts.google.com",
  "accounts.google.com",
];

/**
 * `sub` of a subject naming a Google account; null for any other subject. Google names the user
 * by `sub` in an `iss-sub` subject, or in an `id_token_claims` one ("it might also include an
 * `email` field"), whose `iss`, when given, is Google's.
 * https://developers.google.com/identity/protocols/risc#handle_events
 */
function googleSubOf(subject: unknown): string | null {
  if (!isObject(subject) || typeof subject.sub !== "string") return null;
  if (subject.subject_type === "iss-sub") {
    if (subject.iss !== RISC_ISSUER) return null;
  } else if (subject.subject_type === "id_token_claims") {
    if (subject.iss !== undefined && !ID_TOKEN_ISSUERS.includes(subject.iss as string)) return null;
  } else return null;
  return /^[A-Za-z0-9_-]{1,255}$/.test(subject.sub) ? subject.sub : null;
}

function shortWord(value: unknown): string | null {
  return typeof value === "string" && /^[a-z0-9_-]{1,64}$/.test(value) ? value : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
