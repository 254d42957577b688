/**
 * Consent flows for the phases: through google-connect (as a person's click would go), and
 * straight at the emulator with a PKCE verifier we know (the floor the callback is measured
 * against).
 */

import { calculatePKCECodeChallenge, generateRandomCodeVerifier } from "oauth4webapi";
import { REQUESTED_SCOPES } from "../../supabase/functions/_google_calendar/google_facts.ts";
import { answerConsent } from "../google_emulator/consent_client.ts";
import type { BenchContext } from "./context.ts";

/** The scopes google-connect asks for, as a granted token row records them. */
export const SCOPES: readonly string[] = REQUESTED_SCOPES;

/** google-connect for `userId`, then consent at the emulator: the callback URL, unused. */
export async function preparedCallback(ctx: BenchContext, userId: string): Promise<string> {
  const res = await fetch(`${ctx.stack.info.functions_url}/google-connect`, {
    method: "POST",
    headers: ctx.serviceHeaders,
    body: JSON.stringify({ user_id: userId }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`google-connect answered ${res.status} ${body.code}`);
  const cb = await answerConsent(body.auth_url, {
    email: `bench-${crypto.randomUUID()}@gmail.test`,
  });
  if (!cb.searchParams.get("code")) throw new Error(`consent gave no code: ${cb}`);
  return cb.href;
}

/** A callback link, prepared and then used once: replaying it answers "expired". */
export async function usedCallback(ctx: BenchContext, userId: string): Promise<string> {
  const url = await preparedCallback(ctx, userId);
  await (await fetch(url, { redirect: "manual" })).body?.cancel();
  return url;
}

/** A code minted at the emulator for a PKCE verifier we know (no function involved). */
export async function directCode(
  ctx: BenchContext,
  email: string,
): Promise<{ code: string; verifier: string }> {
  const info = ctx.stack.info;
  const verifier = generateRandomCodeVerifier();
  const url = new URL(`${info.google_emulator_url}/o/oauth2/v2/auth`);
  url.search = new URLSearchParams({
    client_id: info.google_client_id,
    redirect_uri: info.google_redirect_uri,
    response_type: "code",
    scope: SCOPES.join(" "),
    access_type: "offline",
    prompt: "consent",
    state: crypto.randomUUID(),
    code_challenge: await calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
  }).toString();
  const cb = await answerConsent(url, { email });
  const code = cb.searchParams.get("code");
  if (!code) throw new Error(`consent gave no code: ${cb}`);
  return { code, verifier };
}

/** A token endpoint form body with the client's credentials and `extra`. */
export function tokenForm(ctx: BenchContext, extra: Record<string, string>): string {
  return new URLSearchParams({
    client_id: ctx.stack.info.google_client_id,
    client_secret: ctx.stack.secrets.google_client_secret,
    ...extra,
  }).toString();
}

/** Connect, consent and callback for `userId`: a connected user, as the app would have. */
export async function connectFully(ctx: BenchContext, userId: string): Promise<void> {
  const res = await fetch(await preparedCallback(ctx, userId), { redirect: "manual" });
  await res.body?.cancel();
  const location = res.headers.get("location") ?? "";
  if (!location.includes("result=connected")) {
    throw new Error(`callback: ${res.status} ${location}`);
  }
}

/** The refresh-token grants the emulator has answered so far, ok and failed. */
export async function refreshGrants(ctx: BenchContext): Promise<{ ok: number; error: number }> {
  const res = await fetch(`${ctx.stack.info.google_emulator_url}/__emulator/stats`);
  return (await res.json()).tokenGrants.refresh_token;
}
