/** The local stack's secrets and keys: made once, kept in the stack folder, reused on restart. */

import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";

export interface StackSecrets {
  /** HS256 secret PostgREST accepts for the anon and service_role keys (legacy Supabase keys). */
  jwt_secret: string;
  /** ES256 key that signs user access tokens, as Supabase Auth's asymmetric signing key does. */
  user_signing_jwk: JWK;
  oauth_state_secret: string;
  token_encryption_key: string;
  google_client_id: string;
  google_client_secret: string;
}

export function randomBase64Url(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...buf)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

async function generateSecrets(): Promise<StackSecrets> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return {
    jwt_secret: randomBase64Url(48),
    user_signing_jwk: { ...jwk, alg: "ES256", use: "sig", kid: `local-${randomBase64Url(6)}` },
    oauth_state_secret: randomBase64Url(32),
    token_encryption_key: `local-1:${randomBase64Url(32)}`,
    google_client_id: "local-dev-client.apps.googleusercontent.com",
    google_client_secret: `GOCSPX-${randomBase64Url(21)}`,
  };
}

/** Reads `<dir>/secrets.json`, creating it (mode 0600) on first start. */
export async function loadOrCreateSecrets(dir: string): Promise<StackSecrets> {
  const file = `${dir}/secrets.json`;
  try {
    return JSON.parse(await Deno.readTextFile(file)) as StackSecrets;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const secrets = await generateSecrets();
  await Deno.writeTextFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

export function publicJwk(secrets: StackSecrets): JWK {
  const { d: _private, ...pub } = secrets.user_signing_jwk;
  return pub;
}

/** JWKS for PostgREST: the HS256 secret and the ES256 public key, verified side by side. */
export function postgrestJwks(secrets: StackSecrets): { keys: JWK[] } {
  const k = btoa(secrets.jwt_secret).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return { keys: [{ kty: "oct", k, alg: "HS256" }, publicJwk(secrets)] };
}

/** The long-lived anon or service_role API key, HS256 as Supabase's legacy keys are. */
export function apiKey(secrets: StackSecrets, role: "anon" | "service_role"): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role, ref: "local" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("supabase")
    .setIssuedAt(now)
    .setExpirationTime(now + 10 * 365 * 24 * 3600)
    .sign(new TextEncoder().encode(secrets.jwt_secret));
}

/** A signed-in user's access token, shaped like Supabase Auth's (ES256, role authenticated). */
export async function userAccessToken(
  secrets: StackSecrets,
  options: { apiUrl: string; userId: string; email?: string; ttlSeconds?: number },
): Promise<string> {
  const key = await importJWK(secrets.user_signing_jwk, "ES256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    role: "authenticated",
    aal: "aal1",
    session_id: crypto.randomUUID(),
    ...(options.email ? { email: options.email } : {}),
  })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: secrets.user_signing_jwk.kid! })
    .setIssuer(`${options.apiUrl}/auth/v1`)
    .setSubject(options.userId)
    .setAudience("authenticated")
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 3600))
    .sign(key);
}
