/**
 * `npm run risc:register`: points Google's Cross-Account Protection stream at google-risc
 * (stream:update with push delivery and the event types the kit acts on), then asks Google for
 * a verification event (stream:verify), whose state google-risc logs. Authenticated as the
 * project's service account: a JWT it signs itself, as the RISC API takes it.
 * https://developers.google.com/identity/protocols/risc#configure-stream
 *
 *   npm run risc:register -- --key <service-account.json> --url <https://…/functions/v1/google-risc>
 *   npm run risc:register -- --stack .local/dev/stack.json   # the local stack and its emulator
 *
 * Variables instead of flags: GOOGLE_RISC_SERVICE_ACCOUNT_FILE, GOOGLE_RISC_RECEIVER_URL,
 * GOOGLE_RISC_API_BASE_URL (default Google's). docs/risc.md says which Cloud settings it needs.
 */

import { parseArgs } from "node:util";
import { importPKCS8, SignJWT } from "jose";
import {
  RISC_API_AUDIENCE,
  RISC_API_BASE_URL,
  RISC_PUSH_DELIVERY,
  RISC_REQUESTED_EVENTS,
} from "../../supabase/functions/_google_calendar/risc_facts.ts";

/** The fields of a service-account JSON key file that the RISC API's JWT needs. */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id: string;
}

/** What one registration does. */
export interface RiscRegistration {
  key: ServiceAccountKey;
  /** google-risc's public URL. */
  receiverUrl: string;
  /** The RISC API's base (Google's, or an emulator's). */
  apiBaseUrl?: string;
  /** The verification state; a random one by default. */
  state?: string;
  fetch?: typeof fetch;
}

/** Reads and checks a service-account JSON key file. */
export async function readServiceAccountKey(path: string): Promise<ServiceAccountKey> {
  const text = await Deno.readTextFile(path);
  let parsed: Partial<ServiceAccountKey> | null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the error: here, the private key.
    throw new Error(`${path} is not a service-account key file: it is not JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${path} is not a service-account key file: it is not a JSON object`);
  }
  for (const field of ["client_email", "private_key", "private_key_id"] as const) {
    if (typeof parsed[field] !== "string" || parsed[field] === "") {
      throw new Error(`${path} is not a service-account key file: ${field} is missing`);
    }
  }
  return parsed as ServiceAccountKey;
}

/** The bearer JWT the RISC API takes: RS256 by the service account's key, valid one hour. */
export async function riscApiToken(key: ServiceAccountKey, nowSeconds?: number): Promise<string> {
  const iat = nowSeconds ?? Math.floor(Date.now() / 1000);
  return await new SignJWT({})
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.private_key_id })
    .setIssuer(key.client_email)
    .setSubject(key.client_email)
    .setAudience(RISC_API_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(await importPKCS8(key.private_key, "RS256"));
}

/** stream:update then stream:verify; throws naming the step and Google's status. */
export async function registerRiscStream(options: RiscRegistration): Promise<{ state: string }> {
  const fetchImpl = options.fetch ?? fetch;
  const base = (options.apiBaseUrl ?? RISC_API_BASE_URL).replace(/\/+$/, "");
  const state = options.state ?? `risc-verify-${crypto.randomUUID()}`;
  const headers = {
    authorization: `Bearer ${await riscApiToken(options.key)}`,
    "content-type": "application/json",
  };
  const call = async (method: string, body: unknown) => {
    const res = await fetchImpl(`${base}/v1beta/${method}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) {
      const message = (() => {
        try {
          return String(JSON.parse(text)?.error?.message ?? "");
        } catch {
          return "";
        }
      })();
      throw new Error(`${method} answered ${res.status}${message ? `: ${message}` : ""}`);
    }
  };
  await call("stream:update", {
    delivery: { delivery_method: RISC_PUSH_DELIVERY, url: options.receiverUrl },
    events_requested: RISC_REQUESTED_EVENTS,
  });
  await call("stream:verify", { state });
  return { state };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      key: { type: "string" },
      url: { type: "string" },
      api: { type: "string" },
      stack: { type: "string" },
    },
  });
  let keyFile = values.key ?? Deno.env.get("GOOGLE_RISC_SERVICE_ACCOUNT_FILE");
  let receiverUrl = values.url ?? Deno.env.get("GOOGLE_RISC_RECEIVER_URL");
  let apiBaseUrl = values.api ?? Deno.env.get("GOOGLE_RISC_API_BASE_URL");
  if (values.stack) {
    // The local stack: its emulator plays the RISC API and issues a service-account key.
    const info = JSON.parse(await Deno.readTextFile(values.stack));
    apiBaseUrl ??= info.google_emulator_url;
    receiverUrl ??= `${info.functions_url}/google-risc`;
    if (!keyFile) {
      const res = await fetch(`${info.google_emulator_url}/__emulator/risc/service-account`, {
        method: "POST",
        body: "{}",
      });
      keyFile = `${info.stack_dir}/risc-service-account.json`;
      await Deno.writeTextFile(keyFile, await res.text(), { mode: 0o600 });
    }
  }
  if (!keyFile || !receiverUrl) {
    console.error(
      "risc:register needs --key <service-account.json> (or GOOGLE_RISC_SERVICE_ACCOUNT_FILE) " +
        "and --url <google-risc URL> (or GOOGLE_RISC_RECEIVER_URL); see docs/risc.md",
    );
    Deno.exit(2);
  }
  try {
    const key = await readServiceAccountKey(keyFile);
    const { state } = await registerRiscStream({
      key,
      receiverUrl,
      ...(apiBaseUrl ? { apiBaseUrl } : {}),
    });
    console.log(`RISC stream configured: ${receiverUrl}`);
    console.log(`verification requested: google-risc logs "verification state=\\"${state}\\""`);
  } catch (error) {
    console.error(`risc:register failed: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
