/**
 * Google's side of Cross-Account Protection (RISC): the configuration document and its JWKS,
 * the RISC API's stream:update / stream:verify (authenticated by a service-account JWT), and
 * Security Event Tokens signed with the emulator's own RISC key and POSTed to the registered
 * receiver, the way Google delivers them.
 * https://developers.google.com/identity/protocols/risc
 *
 * The URIs below are Google's, written here rather than imported from the kit, so a kit mistake
 * cannot hide behind an emulator that shares it. The test controls live in risc_controls.ts.
 *
 * @module
 */

import * as jose from "jose";
import { randomToken } from "./crypto_utils.ts";
import type { EmulatorState } from "./state.ts";

/** Where Google serves the RISC configuration document (under accounts.google.com). */
export const RISC_CONFIGURATION_PATH = "/.well-known/risc-configuration";
/**
 * The emulator's RISC JWKS. Google's guide shows `jwks_uri` as its ID-token certs
 * (https://www.googleapis.com/oauth2/v3/certs); receivers must follow `jwks_uri` whatever it is,
 * and a separate set here lets the rotate control change RISC keys without touching ID tokens.
 */
export const RISC_JWKS_PATH = "/risc/v1beta/jwks";
/** The RISC API's stream methods (risc.googleapis.com/v1beta/…). */
export const RISC_STREAM_PATH = "/v1beta/stream";
export const RISC_STREAM_UPDATE_PATH = "/v1beta/stream:update";
export const RISC_STREAM_VERIFY_PATH = "/v1beta/stream:verify";

/** The `iss` of Google's SETs. */
export const RISC_SET_ISSUER = "https://accounts.google.com/";
/** The `aud` a service-account JWT for the RISC API must carry. */
export const RISC_API_AUDIENCE =
  "https://risc.googleapis.com/google.identity.risc.v1beta.RiscManagementService";
/** Google's only delivery method. */
export const RISC_PUSH_DELIVERY = "https://schemas.openid.net/secevent/risc/delivery-method/push";

const RISC = "https://schemas.openid.net/secevent/risc/event-type/";
const OAUTH = "https://schemas.openid.net/secevent/oauth/event-type/";
/** The event types Google sends, by the short name the emit control takes. */
export const RISC_EVENT_URIS: Readonly<Record<string, string>> = Object.freeze({
  "sessions-revoked": `${RISC}sessions-revoked`,
  "tokens-revoked": `${OAUTH}tokens-revoked`,
  "token-revoked": `${OAUTH}token-revoked`,
  "account-disabled": `${RISC}account-disabled`,
  "account-enabled": `${RISC}account-enabled`,
  "account-credential-change-required": `${RISC}account-credential-change-required`,
  verification: `${RISC}verification`,
});

/** One RISC signing key. */
interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: jose.JWK;
}

/** The registered stream, as stream:update stored it. */
export interface RiscStream {
  url: string;
  deliveryMethod: string;
  eventsRequested: string[];
  updatedAt: string;
}

/** The emulator's RISC state, beside the shared EmulatorState. */
export interface RiscState {
  /** Signing keys, newest first; the JWKS publishes them all. */
  keys: SigningKey[];
  stream: RiscStream | undefined;
  /** Service-account keys the controls issued: private_key_id → client_email and public key. */
  serviceAccounts: Map<string, { clientEmail: string; publicKey: CryptoKey }>;
  /** Every SET POSTed to the receiver: its jti, event type and the receiver's status. */
  deliveries: { jti: string; eventType: string; status: number }[];
}

const states = new WeakMap<EmulatorState, Promise<RiscState>>();

/** The RISC state of `state`, created (with a first signing key) on first use. */
export function riscOf(state: EmulatorState): Promise<RiscState> {
  let risc = states.get(state);
  if (risc === undefined) {
    risc = (async () => ({
      keys: [await newSigningKey()],
      stream: undefined,
      serviceAccounts: new Map(),
      deliveries: [],
    }))();
    states.set(state, risc);
  }
  return risc;
}

/** A fresh RS256 key with its public JWK (kid = thumbprint). */
export async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await jose.generateKeyPair("RS256");
  const jwk = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(jwk);
  return {
    kid,
    privateKey: privateKey as CryptoKey,
    publicJwk: { ...jwk, kid, alg: "RS256", use: "sig" },
  };
}

/** True for the paths this module answers (not the controls). */
export function isRiscPath(path: string): boolean {
  return [
    RISC_CONFIGURATION_PATH,
    RISC_JWKS_PATH,
    RISC_STREAM_PATH,
    RISC_STREAM_UPDATE_PATH,
    RISC_STREAM_VERIFY_PATH,
  ].includes(path);
}

/** Answers the RISC configuration document, the JWKS and the stream methods. */
export async function riscEndpoint(
  state: EmulatorState,
  req: Request,
  path: string,
): Promise<Response> {
  const risc = await riscOf(state);
  const route = `${req.method} ${path}`;
  switch (route) {
    case `GET ${RISC_CONFIGURATION_PATH}`:
      return Response.json({
        issuer: RISC_SET_ISSUER,
        jwks_uri: state.publicUrl(RISC_JWKS_PATH),
        delivery_methods_supported: [RISC_PUSH_DELIVERY],
        configuration_endpoint: state.publicUrl(RISC_STREAM_PATH),
        verification_endpoint: state.publicUrl(RISC_STREAM_VERIFY_PATH),
      }, { headers: { "cache-control": "public, max-age=3600" } });
    case `GET ${RISC_JWKS_PATH}`:
      return Response.json(
        { keys: risc.keys.map((k) => k.publicJwk) },
        { headers: { "cache-control": "public, max-age=3600" } },
      );
  }
  const caller = await serviceAccountOf(risc, req);
  if (caller instanceof Response) return caller;
  switch (route) {
    case `GET ${RISC_STREAM_PATH}`:
      return risc.stream === undefined ? noConfiguration() : Response.json({
        delivery: { delivery_method: risc.stream.deliveryMethod, url: risc.stream.url },
        events_requested: risc.stream.eventsRequested,
      });
    case `POST ${RISC_STREAM_UPDATE_PATH}`:
      return await streamUpdate(risc, req);
    case `POST ${RISC_STREAM_VERIFY_PATH}`: {
      const body = await req.json().catch(() => null) as { state?: unknown } | null;
      if (risc.stream === undefined) return noConfiguration();
      const verifyState = typeof body?.state === "string" ? body.state : "";
      // "To use this flow, make sure to subscribe to [the verification] event type when
      // registering your receiver": a stream that did not ask for it gets no verification SET.
      if (!risc.stream.eventsRequested.includes(RISC_EVENT_URIS.verification!)) {
        return Response.json({});
      }
      await deliver(state, risc, {
        eventType: RISC_EVENT_URIS.verification!,
        body: { state: verifyState },
      });
      return Response.json({});
    }
  }
  return new Response(null, { status: 405 });
}

/** stream:update: `{ delivery: { delivery_method, url }, events_requested }`. */
async function streamUpdate(risc: RiscState, req: Request): Promise<Response> {
  const body = await req.json().catch(() => null) as {
    delivery?: { delivery_method?: unknown; url?: unknown };
    events_requested?: unknown;
  } | null;
  // The guide's error reference: "Stream configuration must contain $fieldname field." (400).
  const missing = (field: string) =>
    apiError(400, "INVALID_ARGUMENT", `Stream configuration must contain ${field} field.`);
  if (typeof body?.delivery !== "object" || body.delivery === null) return missing("delivery");
  const url = body.delivery.url;
  if (body.delivery.delivery_method === undefined) return missing("delivery_method");
  if (url === undefined) return missing("url");
  if (body.delivery.delivery_method !== RISC_PUSH_DELIVERY || typeof url !== "string") {
    return apiError(400, "INVALID_ARGUMENT", "delivery must be push with a url.");
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return apiError(400, "INVALID_ARGUMENT", "delivery.url is not a URL.");
  }
  // Google delivers to https only; the emulator also takes loopback http (the local stack).
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname);
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && loopback)) {
    // 403, not 400, in the guide's error reference.
    return apiError(403, "PERMISSION_DENIED", "The delivery endpoint must be an HTTPS URL.");
  }
  const events = body?.events_requested;
  if (events === undefined) return missing("events_requested");
  if (
    !Array.isArray(events) || events.length === 0 ||
    events.some((e) => typeof e !== "string" || !Object.values(RISC_EVENT_URIS).includes(e))
  ) {
    return apiError(400, "INVALID_ARGUMENT", "events_requested must list RISC event types.");
  }
  risc.stream = {
    url: parsed.href,
    deliveryMethod: RISC_PUSH_DELIVERY,
    eventsRequested: events as string[],
    updatedAt: new Date().toISOString(),
  };
  return Response.json({});
}

/**
 * The RISC API's authentication: a JWT signed by a service-account key, iss = sub = its email,
 * aud the RISC API, at most an hour long.
 * https://developers.google.com/identity/protocols/risc#auth_token
 */
async function serviceAccountOf(risc: RiscState, req: Request): Promise<string | Response> {
  const auth = req.headers.get("authorization") ?? "";
  const token = auth.startsWith("Bearer ") ? auth.slice("Bearer ".length) : "";
  const unauthenticated = (why: string) => apiError(401, "UNAUTHENTICATED", why);
  if (!token) return unauthenticated("A service-account JWT is required.");
  let header: jose.ProtectedHeaderParameters;
  try {
    header = jose.decodeProtectedHeader(token);
  } catch {
    return unauthenticated("The bearer token is not a JWT.");
  }
  const account = typeof header.kid === "string" ? risc.serviceAccounts.get(header.kid) : undefined;
  if (account === undefined) return unauthenticated("Unknown service-account key.");
  try {
    const { payload } = await jose.jwtVerify(token, account.publicKey, {
      algorithms: ["RS256"],
      issuer: account.clientEmail,
      subject: account.clientEmail,
      audience: RISC_API_AUDIENCE,
      requiredClaims: ["iat", "exp"],
    });
    if ((payload.exp ?? 0) - (payload.iat ?? 0) > 3600) {
      return unauthenticated("The JWT may last at most an hour.");
    }
  } catch {
    return unauthenticated("The service-account JWT does not verify.");
  }
  return account.clientEmail;
}

/** What one SET says beyond its event; the overrides exist for tests of forged SETs. */
export interface SetSpec {
  eventType: string;
  body: Record<string, unknown>;
  audience?: string;
  issuer?: string;
  /** Seconds since 1970; default now. */
  issuedAt?: number;
}

/** Signs one event with the current RISC key, as Google does; returns the SET and its jti. */
export async function signSet(
  state: EmulatorState,
  risc: RiscState,
  spec: SetSpec,
): Promise<{ jti: string; set: string }> {
  const key = risc.keys[0]!;
  const jti = randomToken("", 32);
  const set = await new jose.SignJWT({ events: { [spec.eventType]: spec.body } })
    .setProtectedHeader({ alg: "RS256", kid: key.kid })
    .setIssuer(spec.issuer ?? RISC_SET_ISSUER)
    .setAudience(spec.audience ?? state.defaultClient().clientId)
    .setIssuedAt(spec.issuedAt ?? Math.floor(state.now() / 1000))
    .setJti(jti)
    .sign(key.privateKey);
  return { jti, set };
}

/** Signs one event and POSTs it to the stream's receiver; returns the receiver's status. */
export async function deliver(
  state: EmulatorState,
  risc: RiscState,
  spec: SetSpec,
): Promise<{ jti: string; status: number }> {
  if (risc.stream === undefined) throw new Error("no stream is configured");
  const { jti, set } = await signSet(state, risc, spec);
  let status = 0;
  try {
    const res = await fetch(risc.stream.url, {
      method: "POST",
      headers: { "content-type": "application/secevent+jwt", accept: "application/json" },
      body: set,
      signal: AbortSignal.timeout(15_000),
    });
    await res.body?.cancel();
    status = res.status;
  } catch {
    status = 0;
  }
  risc.deliveries.push({ jti, eventType: spec.eventType, status });
  return { jti, status };
}

/**
 * GET stream or stream:verify before any stream:update: 404, as the guide's error reference says.
 * https://developers.google.com/identity/protocols/risc#error-codes
 */
function noConfiguration(): Response {
  return apiError(404, "NOT_FOUND", "Project has no RISC configuration.");
}

function apiError(code: number, status: string, message: string): Response {
  return Response.json({ error: { code, message, status } }, { status: code });
}
