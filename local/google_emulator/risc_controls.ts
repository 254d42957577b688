/**
 * The RISC test controls under `/__emulator/risc/`:
 * - `POST service-account {}`: a service-account JSON key file the RISC API accepts;
 * - `POST emit { "email" | "sub", "event_type", "reason"?, "subject_type"? }`: signs one event
 *   for that account and POSTs it to the registered receiver; answers `{ jti, status }` (the
 *   receiver's status). For tests of forged SETs, `"deliver": false` only signs and answers
 *   `{ jti, set }`, and `"aud"`, `"iss"`, `"iat"` override those claims;
 * - `POST rotate { "drop_old"? }`: a new signing key, published in the JWKS beside the old one
 *   (or alone with drop_old); answers `{ kid }`;
 * - `GET stream`: the registered stream and every delivery so far.
 *
 * @module
 */

import * as jose from "jose";
import { normaliseEmail } from "./http.ts";
import {
  deliver,
  newSigningKey,
  RISC_EVENT_URIS,
  RISC_SET_ISSUER,
  riscOf,
  type SetSpec,
  signSet,
} from "./risc.ts";
import type { Account, EmulatorState } from "./state.ts";

/** The control paths' common prefix. */
export const RISC_CONTROL_PREFIX = "/__emulator/risc/";

/** Answers one RISC control. */
export async function riscControl(
  state: EmulatorState,
  req: Request,
  path: string,
): Promise<Response> {
  const risc = await riscOf(state);
  const name = `${req.method} ${path.slice(RISC_CONTROL_PREFIX.length)}`;
  if (name === "GET stream") {
    return Response.json({ stream: risc.stream ?? null, deliveries: risc.deliveries });
  }
  const body = await req.json().catch(() => ({})) as Record<string, unknown>;
  switch (name) {
    case "POST service-account": {
      const { privateKey, publicKey } = await jose.generateKeyPair("RS256", { extractable: true });
      const keyId = crypto.randomUUID().replaceAll("-", "");
      const clientEmail = `risc-admin-${
        keyId.slice(0, 8)
      }@emulator-project.iam.gserviceaccount.com`;
      risc.serviceAccounts.set(keyId, { clientEmail, publicKey: publicKey as CryptoKey });
      // The fields of a JSON key file as the Cloud console downloads it.
      return Response.json({
        type: "service_account",
        project_id: "emulator-project",
        private_key_id: keyId,
        private_key: await jose.exportPKCS8(privateKey),
        client_email: clientEmail,
        client_id: keyId.slice(0, 21),
        token_uri: state.publicUrl("/token"),
      });
    }
    case "POST rotate": {
      const key = await newSigningKey();
      risc.keys = body.drop_old === true ? [key] : [key, ...risc.keys];
      return Response.json({ kid: key.kid });
    }
    case "POST emit":
      return await emit(state, body);
  }
  return Response.json({ error: "not found" }, { status: 404 });
}

async function emit(state: EmulatorState, body: Record<string, unknown>): Promise<Response> {
  const risc = await riscOf(state);
  const bad = (error: string) => Response.json({ error }, { status: 400 });
  const type = typeof body.event_type === "string" ? body.event_type : "";
  const eventType = RISC_EVENT_URIS[type] ?? (type.startsWith("https://") ? type : undefined);
  if (eventType === undefined) return bad(`unknown event_type ${type}`);
  if (risc.stream === undefined && body.deliver !== false) {
    return bad("no stream: call stream:update first");
  }
  const account = findAccount(state, body);
  if (account === undefined) return bad("email or sub of a known account is required");
  const client = state.defaultClient();

  const event: Record<string, unknown> = {
    subject: { subject_type: "iss-sub", iss: RISC_SET_ISSUER, sub: account.sub },
  };
  if (type === "token-revoked" && body.subject_type === "oauth_token") {
    // Google names one refresh token by a hash of it, not by its account.
    const token = state.liveRefreshTokens(account.email, client.clientId).at(-1) ?? "";
    event.subject = {
      subject_type: "oauth_token",
      token_type: "refresh_token",
      token_identifier_alg: "hash_base64_sha512_sha512",
      token: await doubleSha512(token),
    };
  }
  if (body.subject_type === "id_token_claims") {
    // The other subject Google's guide names: "When the subject_type of the claim is
    // id_token_claims, it might also include an email field with the user's email address."
    // https://developers.google.com/identity/protocols/risc#handle_events
    event.subject = { subject_type: "id_token_claims", sub: account.sub, email: account.email };
  }
  if (typeof body.reason === "string") event.reason = body.reason;
  if ((type === "tokens-revoked" || type === "token-revoked") && body.deliver !== false) {
    // Google says so because the tokens are gone: they are, here too.
    state.endGrant(account.email, client.clientId);
  }
  const spec: SetSpec = {
    eventType,
    body: event,
    ...(typeof body.aud === "string" ? { audience: body.aud } : {}),
    ...(typeof body.iss === "string" ? { issuer: body.iss } : {}),
    ...(typeof body.iat === "number" ? { issuedAt: body.iat } : {}),
  };
  if (body.deliver === false) return Response.json(await signSet(state, risc, spec));
  return Response.json(await deliver(state, risc, spec));
}

function findAccount(state: EmulatorState, body: Record<string, unknown>): Account | undefined {
  if (typeof body.email === "string") return state.accounts.get(normaliseEmail(body.email));
  if (typeof body.sub === "string") {
    return [...state.accounts.values()].find((a) => a.sub === body.sub);
  }
  return undefined;
}

async function doubleSha512(token: string): Promise<string> {
  const once = await crypto.subtle.digest("SHA-512", new TextEncoder().encode(token));
  const twice = new Uint8Array(await crypto.subtle.digest("SHA-512", once));
  return btoa(String.fromCharCode(...twice));
}
