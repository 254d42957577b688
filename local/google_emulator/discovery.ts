/** The OpenID Connect discovery document and the JWKS that verifies ID tokens. */

import { AUTH_PATH } from "./authorize.ts";
import { REVOKE_PATH } from "./revoke.ts";
import type { EmulatorState } from "./state.ts";
import { TOKEN_PATH } from "./token.ts";

/** Path of the discovery document. */
export const DISCOVERY_PATH = "/.well-known/openid-configuration";
/** Path of the JWKS. */
export const CERTS_PATH = "/oauth2/v3/certs";

/** `GET /.well-known/openid-configuration`. */
export function discovery(state: EmulatorState): Response {
  return Response.json({
    issuer: state.issuer,
    authorization_endpoint: state.publicUrl(AUTH_PATH),
    token_endpoint: state.publicUrl(TOKEN_PATH),
    revocation_endpoint: state.publicUrl(REVOKE_PATH),
    jwks_uri: state.publicUrl(CERTS_PATH),
    response_types_supported: ["code"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    scopes_supported: ["openid", "email", "profile"],
    token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
    claims_supported: [
      "aud",
      "email",
      "email_verified",
      "exp",
      "iat",
      "iss",
      "sub",
      "azp",
      "at_hash",
      "nonce",
    ],
    code_challenge_methods_supported: ["plain", "S256"],
    grant_types_supported: ["authorization_code", "refresh_token"],
  });
}

/** `GET /oauth2/v3/certs`. */
export function certs(state: EmulatorState): Response {
  return Response.json(state.jwks, { headers: { "cache-control": "public, max-age=3600" } });
}
