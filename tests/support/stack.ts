/**
 * What the Deno tests know about the stack under test: URLs and keys from the stack file
 * (STACK_FILE, default .local/stack.json) with environment overrides, users, tokens, SQL, and
 * the Google emulator's test controls.
 */

import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { importJWK, type JWK, SignJWT } from "jose";
import { answerConsent } from "../../local/google_emulator/consent_client.ts";
import { type CallbackAnswer, followCallback } from "./callback.ts";
import { queryRows } from "../../local/stack/postgres.ts";
import type { StackInfo } from "../../local/stack/stack.ts";

export interface TestStack extends StackInfo {
  /** ES256 private key that signs user tokens (local stack); absent on other stacks. */
  user_signing_jwk?: JWK;
}

function readStack(): TestStack {
  const file = Deno.env.get("STACK_FILE") ?? ".local/stack.json";
  let info: TestStack;
  try {
    info = JSON.parse(Deno.readTextFileSync(file));
  } catch {
    throw new Error(
      `No stack file at ${file}: run \`npm start\` (or \`npm test\`, which starts one)`,
    );
  }
  const env = (name: string) => Deno.env.get(name) || undefined;
  info.api_url = env("SUPABASE_URL") ?? info.api_url;
  info.functions_url = `${info.api_url}/functions/v1`;
  info.rest_url = `${info.api_url}/rest/v1`;
  info.anon_key = env("SUPABASE_ANON_KEY") ?? info.anon_key;
  info.service_role_key = env("SUPABASE_SERVICE_ROLE_KEY") ?? info.service_role_key;
  info.db_url = env("SUPABASE_DB_URL") ?? info.db_url;
  info.google_emulator_url = env("GOOGLE_EMULATOR_URL") ?? info.google_emulator_url;
  if (!info.user_signing_jwk && info.secrets_file) {
    try {
      info.user_signing_jwk = JSON.parse(Deno.readTextFileSync(info.secrets_file)).user_signing_jwk;
    } catch {
      // Not a local stack: user tokens come from USER_SIGNING_JWK, else the tests say so.
    }
  }
  const jwk = env("USER_SIGNING_JWK");
  if (jwk) info.user_signing_jwk = JSON.parse(jwk);
  return info;
}

export const stack: TestStack = readStack();

/** Runs SQL as postgres through psql and returns the rows as text (one line each). */
export function sql(query: string, vars: Record<string, string> = {}): Promise<string[]> {
  return queryRows(stack.db_url, query, vars);
}

export interface TestUser {
  id: string;
  email: string;
}

/** A fresh user in auth.users with a unique email. */
export async function createUser(prefix = "user"): Promise<TestUser> {
  const email = `${prefix}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const [id] = await sql("insert into auth.users (email) values (:'email') returning id", {
    email,
  });
  return { id: id!, email };
}

/** A signed-in user's access token, as Supabase Auth issues it (ES256, role authenticated). */
export async function userToken(
  userId: string,
  options: { ttlSeconds?: number; role?: string; issuer?: string; audience?: string } = {},
): Promise<string> {
  const jwk = stack.user_signing_jwk;
  if (!jwk) throw new Error("No user signing key: set USER_SIGNING_JWK for this stack");
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ role: options.role ?? "authenticated", aal: "aal1" })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: jwk.kid! })
    .setIssuer(options.issuer ?? `${stack.api_url}/auth/v1`)
    .setSubject(userId)
    .setAudience(options.audience ?? "authenticated")
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 3600))
    .sign(await importJWK(jwk, "ES256"));
}

const clientOptions = {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
};

export function serviceClient(): SupabaseClient {
  return createClient(stack.api_url, stack.service_role_key, clientOptions);
}

export function anonClient(): SupabaseClient {
  return createClient(stack.api_url, stack.anon_key, clientOptions);
}

/** A client acting as the user whose access token is `token` (anon key plus the user's JWT). */
export function userClient(token: string): SupabaseClient {
  return createClient(stack.api_url, stack.anon_key, {
    ...clientOptions,
    global: { headers: { Authorization: `Bearer ${token}` } },
  });
}

/** Calls a function through the gateway with the service credentials (as the bot does). */
export function callAsService(
  name: string,
  init: { method?: string; body?: unknown; query?: Record<string, string> } = {},
): Promise<Response> {
  const url = new URL(`${stack.functions_url}/${name}`);
  for (const [k, v] of Object.entries(init.query ?? {})) url.searchParams.append(k, v);
  return fetch(url, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: {
      authorization: `Bearer ${stack.service_role_key}`,
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

/** The bot asks google-connect for `userId`'s consent URL. */
export async function connectUrl(userId: string, loginHint?: string): Promise<URL> {
  const res = await callAsService("google-connect", {
    body: { user_id: userId, ...(loginHint ? { login_hint: loginHint } : {}) },
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`google-connect answered ${res.status} ${body.code}`);
  return new URL(body.auth_url);
}

/** Answers consent at the emulator; returns the callback URL Google would send the browser to. */
export function consent(
  authUrl: URL,
  options: { email: string; action?: "allow" | "cancel"; uncheck?: string[] },
): Promise<URL> {
  return answerConsent(authUrl, options);
}

/** Follows the callback like a browser would, without following the 303 to the result page. */
export function callback(url: URL | string): Promise<CallbackAnswer> {
  return followCallback(url);
}

/** connect → consent → callback for `user` with Google account `email`. */
export async function connectFully(
  user: TestUser,
  email = `g-${user.email}`,
): Promise<{ result: string | null; reason: string | null }> {
  const cb = await consent(await connectUrl(user.id), { email });
  return await callback(cb);
}

/** POSTs to one of the emulator's /__emulator/ test controls. */
export async function emulatorControl(path: string, body: unknown = {}): Promise<unknown> {
  const res = await fetch(`${stack.google_emulator_url}/__emulator/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`emulator ${path} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

export async function emulatorGet(path: string): Promise<unknown> {
  const res = await fetch(`${stack.google_emulator_url}/__emulator/${path}`);
  if (!res.ok) throw new Error(`emulator ${path} answered ${res.status}`);
  return await res.json();
}

/** The stored row, as the database holds it (ciphertexts). */
export async function tokenRow(userId: string): Promise<Record<string, unknown> | null> {
  const [row] = await sql(
    "select row_to_json(t) from public.google_calendar_tokens t where user_id = :'id'",
    { id: userId },
  );
  return row ? JSON.parse(row) : null;
}

/** Everything every function process has printed so far. */
export async function functionLogs(): Promise<string> {
  let all = "";
  for (const { log_file } of Object.values(stack.functions ?? {})) {
    all += await Deno.readTextFile(log_file).catch(() => "");
  }
  return all;
}
