/**
 * The local stack's `GET /auth/v1/user`, as Supabase Auth answers it: the signed-in user behind
 * `Authorization: Bearer <access token>`, given an API key (`apikey`). The functions use it to
 * verify HS256 user tokens (projects on the legacy JWT secret), which no JWKS can verify.
 *
 * Verifies like Auth does: HS256 under the project's JWT secret or ES256 under the user signing
 * key, `exp` not past when present (Auth's JWT library does not require it, so neither does this:
 * the functions refuse a token without `exp` themselves), role `authenticated`, a UUID `sub`.
 * Unlike Auth, it does not look the user or the session up in the database.
 */

import { importJWK, type JWK, jwtVerify } from "jose";

/** The keys the endpoint verifies with. */
export interface AuthUserKeys {
  /** The legacy HS256 secret (signs the anon and service_role keys, and HS256 user tokens). */
  jwtSecret: string;
  /** The ES256 key pair's public JWK, which signs asymmetric user tokens. */
  userPublicJwk: JWK;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The handler for `GET /auth/v1/user`. */
export function createAuthUserHandler(keys: AuthUserKeys): (req: Request) => Promise<Response> {
  const hs256 = new TextEncoder().encode(keys.jwtSecret);
  const es256 = importJWK(keys.userPublicJwk, "ES256");
  const verify = async (token: string) => {
    const { payload } = await jwtVerify(token, async (header) => {
      if (header.alg === "HS256") return hs256;
      if (header.alg === "ES256") return await es256;
      throw new Error("unsupported alg");
    }, { algorithms: ["HS256", "ES256"] });
    return payload;
  };

  return async (req) => {
    if (req.method !== "GET") return error(405, "method_not_allowed", "Use GET.");
    const apikey = req.headers.get("apikey");
    const apikeyRole = apikey ? await verify(apikey).then((p) => p.role, () => null) : null;
    if (apikeyRole !== "anon" && apikeyRole !== "service_role") {
      return error(401, "no_authorization", "No API key found in request");
    }
    const bearer = req.headers.get("authorization")?.match(/^Bearer (\S+)$/)?.[1];
    if (!bearer) return error(401, "no_authorization", "This endpoint requires a Bearer token");
    const payload = await verify(bearer).catch(() => null);
    if (!payload || payload.role !== "authenticated" || !UUID.test(payload.sub ?? "")) {
      return error(403, "bad_jwt", "invalid JWT: unable to parse or verify signature");
    }
    return new Response(
      JSON.stringify({
        id: payload.sub,
        aud: payload.aud ?? "authenticated",
        role: payload.role,
        email: typeof payload.email === "string" ? payload.email : "",
      }),
      { status: 200, headers: { "content-type": "application/json" } },
    );
  };
}

function error(status: number, code: string, msg: string): Response {
  return new Response(JSON.stringify({ code: status, error_code: code, msg }), {
    status,
    headers: { "content-type": "application/json" },
  });
}
