/**
 * google-risc: Google's Cross-Account Protection POSTs Security Event Tokens here (RFC 8935 push
 * delivery). A public endpoint that trusts only what it verifies: each SET's signature, alg, iss,
 * aud and iat are checked, its jti is refused the second time, and then every grant of the
 * Google account it names is acted on in one transaction with the webhook events it causes.
 * 202 for an accepted SET; 400 `{ err, description }` (RFC 8935 §2.4) for a refused one, which
 * changes nothing.
 * https://developers.google.com/identity/protocols/risc#handle-events
 */

import { describeForLog, logError } from "../_google_calendar/errors.ts";
import { errorResponse, jsonResponse, SECURITY_HEADERS } from "../_google_calendar/http.ts";
import {
  SetError,
  type SetKeyLookup,
  type VerifiedSet,
  verifySecurityEventToken,
} from "../_google_calendar/risc_verify.ts";
import { type AdminClient, databaseError } from "../_google_calendar/supabase_admin.ts";
import { deliverSoon, type WebhookDeliveryDeps } from "../_google_calendar/webhook_delivery.ts";

/** The methods google-risc answers. */
export const RISC_METHODS = ["POST"] as const;

/** A SET is a few hundred bytes; anything past this is refused unread. */
export const MAX_SET_BYTES = 64 * 1024;
/** iat may be this far ahead of our clock. */
export const SET_SKEW_SECONDS = 5 * 60;
/** iat may be this old (Google delivers at once; a late retry within it is still taken). */
export const SET_MAX_AGE_SECONDS = 3 * 24 * 3600;
/** Seen jti are kept longer than the oldest accepted iat, so a replay meets one check or both. */
export const JTI_RETENTION_SECONDS = SET_MAX_AGE_SECONDS + 24 * 3600;

/** What the handler needs. */
export interface RiscHandlerDeps {
  db: AdminClient;
  keys: SetKeyLookup;
  audiences: readonly string[];
  /** Where the resulting events go; their first attempt starts at once. */
  webhooks: WebhookDeliveryDeps;
  /** Seconds since 1970 (tests). */
  nowSeconds?: () => number;
}

/** The google-risc handler over `deps`. */
export function createRiscHandler(deps: RiscHandlerDeps): (req: Request) => Promise<Response> {
  const nowSeconds = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  return async (req) => {
    if (req.method !== "POST") {
      await req.body?.cancel();
      return new Response(null, {
        status: 405,
        headers: { ...SECURITY_HEADERS, allow: RISC_METHODS.join(", ") },
      });
    }
    let set: VerifiedSet;
    try {
      const token = await readBody(req);
      set = await verifySecurityEventToken(token, {
        keys: deps.keys,
        audiences: deps.audiences,
        nowSeconds: nowSeconds(),
        skewSeconds: SET_SKEW_SECONDS,
        maxAgeSeconds: SET_MAX_AGE_SECONDS,
      });
    } catch (error) {
      return refusal(error);
    }

    try {
      const { data, error } = await deps.db.rpc("google_risc_apply_event", {
        p_jti: set.jti,
        p_event_types: set.events.map((e) => e.type),
        p_actions: set.events.map((e) => ({
          action: e.action,
          google_sub: e.googleSub,
          reason: e.reason,
          google_reason: e.googleReason,
        })),
        p_retention_seconds: JTI_RETENTION_SECONDS,
        p_webhooks: deps.webhooks.webhooks !== null,
      });
      if (error) throw databaseError(error);
      const result = data as unknown as {
        duplicate: boolean;
        users: { user_id: string; action: string }[];
      };
      if (result.duplicate) {
        return setError(new SetError("invalid_request", "This SET (jti) was already received."));
      }
      for (const event of set.events) {
        // The state is ours (risc:register chose it), not a secret: logged so the operator can
        // see the stream works. Every other line names types and counts, never a subject.
        if (event.state !== null) {
          console.log(`google-risc: verification state=${JSON.stringify(event.state)}`);
        } else {
          const users = result.users.filter((u) => u.action === event.action).length;
          console.log(`google-risc: ${event.type} action=${event.action} users=${users}`);
        }
      }
      for (const userId of new Set(result.users.map((u) => u.user_id))) {
        deliverSoon(deps.webhooks, userId);
      }
      return new Response(null, { status: 202, headers: SECURITY_HEADERS });
    } catch (error) {
      logError("google-risc", error);
      return errorResponse(error, RISC_METHODS);
    }
  };
}

/** The raw body, at most MAX_SET_BYTES. */
async function readBody(req: Request): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_SET_BYTES) {
    await req.body?.cancel();
    throw new TooLarge();
  }
  const reader = req.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_SET_BYTES) {
      await reader.cancel();
      throw new TooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes).trim();
}

class TooLarge extends Error {
  override name = "TooLarge";
}

function refusal(error: unknown): Response {
  if (error instanceof TooLarge) {
    return jsonResponse(413, {
      err: "invalid_request",
      description: `A SET is at most ${MAX_SET_BYTES} bytes.`,
    });
  }
  if (error instanceof SetError) return setError(error);
  // The keys could not be fetched, or something of ours broke: not the SET's fault, so Google
  // may deliver it again.
  console.warn(`google-risc: not verified: ${describeForLog(error)}`);
  return errorResponse(error, RISC_METHODS);
}

function setError(error: SetError): Response {
  console.log(`google-risc: refused: ${error.code}`);
  return jsonResponse(400, { err: error.code, description: error.message });
}
