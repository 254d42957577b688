/**
 * The stack under test: URLs and keys from the stack file (STACK_FILE, default
 * .local/stack.json) with environment overrides, and a StackClient bound to it, whose methods
 * are exported here as plain functions. Plus supabase-js clients as apps build them.
 */

import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { JWK } from "jose";
import type { StackInfo } from "../../local/stack/stack.ts";
import { StackClient } from "./stack_client.ts";

export type { TestUser } from "./stack_client.ts";
export { googleEmail } from "./stack_client.ts";

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
export const client = new StackClient(stack, stack.user_signing_jwk);

export const sql = client.sql.bind(client);
export const createUser = client.createUser.bind(client);
export const userToken = client.userToken.bind(client);
export const callAsService = client.callAsService.bind(client);
export const connectUrl = client.connectUrl.bind(client);
export const consent = client.consent.bind(client);
export const callback = client.callback.bind(client);
export const connectFully = client.connectFully.bind(client);
/** A new user connected to a Google account (see StackClient.connectedUser). */
export const connectedUser = client.connectedUser.bind(client);
/** google-status's answer for a user, asserted to be a 200. */
export const googleStatus = client.googleStatus.bind(client);
export const disconnect = client.disconnect.bind(client);
/** Refresh-token grants the emulator has answered so far (all, or only the ok ones). */
export const refreshGrants = client.refreshGrants.bind(client);
/** Makes a user's stored access token look expired: its next use refreshes. */
export const expireAccessToken = client.expireAccessToken.bind(client);
export const emulatorControl = client.emulatorControl.bind(client);
export const emulatorGet = client.emulatorGet.bind(client);
export const tokenRow = client.tokenRow.bind(client);
export const functionLogs = client.functionLogs.bind(client);

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
