/**
 * Helpers for the connect/callback tests: the functions' own configuration (to decrypt rows and
 * sign states), hand-made states, pending-flow counts and URL surgery.
 */

import { base64url, decodeJwt, SignJWT } from "jose";
import { type Config, loadConfig } from "../../supabase/functions/_google_calendar/config.ts";
import { decryptToken } from "../../supabase/functions/_google_calendar/token_crypto.ts";
import { STATE_TYP, userBinding } from "../../supabase/functions/_google_calendar/oauth_state.ts";
import assert from "node:assert/strict";
import {
  callback,
  client,
  connectUrl,
  consent,
  createUser,
  googleEmail,
  sql,
  stack,
  type TestUser,
  tokenRow,
} from "./stack.ts";
import type { EmulatorAccount } from "./stack_client.ts";

/** The configuration the deployed functions run with. */
export const config: Config = loadConfig(stack.function_env);

/** What the emulator issued to one Google account. */
export function emulatorAccount(email: string): Promise<EmulatorAccount> {
  return client.account(email);
}

/** The stored row with its tokens decrypted as the functions would. */
export async function decryptedRow(userId: string): Promise<
  {
    accessToken: string;
    refreshToken: string;
    ciphertexts: { access: string; refresh: string };
    googleSub: string;
    googleEmail: string;
  } | null
> {
  const row = await tokenRow(userId);
  if (!row) return null;
  const access = row.access_token as string;
  const refresh = row.refresh_token as string;
  return {
    accessToken: await decryptToken(config.encryption, access, { userId, field: "access_token" }),
    refreshToken: await decryptToken(config.encryption, refresh, {
      userId,
      field: "refresh_token",
    }),
    ciphertexts: { access, refresh },
    googleSub: row.google_sub as string,
    googleEmail: row.google_email as string,
  };
}

export async function pendingFlowCount(userId: string): Promise<number> {
  const [count] = await sql(
    "select count(*) from public.google_oauth_pending_flows where user_id = :'id'",
    { id: userId },
  );
  return Number(count);
}

/** The state JWT's claims (not verified). It names the flow (jti), not the user. */
export function stateClaims(
  state: string,
): { jti: string; ubd: string; iss: string; aud: string; sub?: string } {
  return decodeJwt(state) as { jti: string; ubd: string; iss: string; aud: string };
}

/** The user binding (`ubd`) google-connect puts in a state for flow `jti` of `userId`. */
export async function bindingFor(flow: { jti: string; userId: string }): Promise<string> {
  return await userBinding(
    { secret: config.state.secret, issuer: config.state.issuer, audience: config.state.audience },
    flow,
  );
}

/**
 * A state signed by the test: by default exactly what google-connect would sign for `claims`
 * (`ubd` as given, or computed for `userId`; `sub` only when a test adds one on purpose).
 */
export async function signState(
  claims: { jti: string; ubd?: string; userId?: string; sub?: string },
  options: {
    secret?: Uint8Array;
    alg?: "HS256" | "HS512";
    typ?: string;
    audience?: string;
    issuer?: string;
    expiresIn?: number;
  } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + (options.expiresIn ?? 600);
  const ubd = claims.ubd ??
    (claims.userId ? await bindingFor({ jti: claims.jti, userId: claims.userId }) : undefined);
  const jwt = new SignJWT({
    ...(ubd ? { ubd } : {}),
    ...(claims.sub ? { sub: claims.sub } : {}),
  })
    .setProtectedHeader({ alg: options.alg ?? "HS256", typ: options.typ ?? STATE_TYP })
    .setJti(claims.jti)
    .setIssuer(options.issuer ?? config.state.issuer)
    .setAudience(options.audience ?? config.state.audience)
    .setIssuedAt(Math.min(now, exp - 60))
    .setExpirationTime(exp);
  return await jwt.sign(options.secret ?? config.state.secret);
}

/** The same claims with `alg: none` and no signature. */
export function unsignedState(claims: { jti: string; ubd: string }): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part({ alg: "none", typ: STATE_TYP })}.${
    part({
      ubd: claims.ubd,
      jti: claims.jti,
      iss: config.state.issuer,
      aud: config.state.audience,
      iat: now,
      exp: now + 600,
    })
  }.`;
}

/** A copy of `url` whose parameter `name` is `values` (none: removed; several: repeated). */
export function withParam(url: URL, name: string, values: string[]): URL {
  const copy = new URL(url);
  copy.searchParams.delete(name);
  for (const value of values) copy.searchParams.append(name, value);
  return copy;
}

/** A user who has asked for a link and consented at the emulator, but not followed the callback. */
export interface ConsentedFlow {
  user: TestUser;
  google: string;
  authUrl: URL;
  state: string;
  callbackUrl: URL;
}

export async function consentedFlow(
  options: { user?: TestUser; google?: string; prefix?: string } = {},
): Promise<ConsentedFlow> {
  const user = options.user ?? await createUser(options.prefix ?? "flow");
  const google = options.google ?? googleEmail();
  const authUrl = await connectUrl(user.id);
  const callbackUrl = await consent(authUrl, { email: google });
  return { user, google, authUrl, state: authUrl.searchParams.get("state")!, callbackUrl };
}

/**
 * Expects the callback's answer: a 303 to the result page with `result` (and `reason`), or, for
 * `result: "refused"`, a 400 with `reason` as its x-error-code and no redirect.
 */
export async function expectCallback(
  url: URL,
  expected: { result: string; reason?: string },
): Promise<void> {
  const answer = await callback(url);
  if (expected.result === "refused") {
    assert.deepEqual(answer.status, 400, "callback status");
    assert.deepEqual(answer.location, null, "no redirect");
  } else {
    assert.deepEqual(answer.status, 303, "callback status");
    assert.deepEqual(answer.result, expected.result, "result");
  }
  if (expected.reason !== undefined) assert.deepEqual(answer.reason, expected.reason, "reason");
}

/** google-connect with an arbitrary request; returns status, headers and parsed body. */
export async function rawConnect(init: {
  method?: string;
  query?: [string, string][];
  headers?: Record<string, string>;
  body?: BodyInit;
}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const url = new URL(`${stack.functions_url}/google-connect`);
  for (const [k, v] of init.query ?? []) url.searchParams.append(k, v);
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
    ...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    body = { unparsed: text };
  }
  return { status: res.status, headers: res.headers, body };
}

/** Redeems `code` at the emulator's token endpoint directly, as the functions would. */
export async function redeemAtEmulator(
  code: string,
  codeVerifier: string,
): Promise<{ status: number; error?: string }> {
  const res = await fetch(`${stack.google_emulator_url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      code_verifier: codeVerifier,
      redirect_uri: config.google.redirectUri,
      client_id: config.google.clientId,
      client_secret: config.google.clientSecret,
    }),
  });
  const body = await res.json();
  return { status: res.status, ...(body.error ? { error: body.error } : {}) };
}

/** The PKCE verifier google-connect kept for `state`'s flow. */
export async function verifierOf(state: string): Promise<string> {
  const [verifier] = await sql(
    "select code_verifier from public.google_oauth_pending_flows where jti = :'jti'",
    { jti: stateClaims(state).jti },
  );
  if (!verifier) throw new Error("no pending flow for this state");
  return verifier;
}
