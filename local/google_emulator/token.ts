/**
 * The token endpoint (`POST /token`): client authentication (including deleted clients and
 * rotated secrets), the authorization_code grant and the refresh_token grant with Google's
 * refresh-token lifetimes.
 *
 * @module
 */

import { PKCE_VERIFIER_PATTERN, s256Challenge } from "./crypto_utils.ts";
import { decodeBasic, invalidGrant, noStoreJson, oauthError, readForm } from "./http.ts";
import { signIdToken } from "./id_token.ts";
import { refreshLifetimeSeconds, refreshTokenExpiresIn, refreshTokenLapse } from "./lifetimes.ts";
import { grantedScopes, parseScope } from "./scopes.ts";
import type { AccessRecord, Account, ClientState, EmulatorState } from "./state.ts";

/** Path of the token endpoint. */
export const TOKEN_PATH = "/token";

/** Google's answer for a refresh token that was revoked, expired or never issued. */
export const EXPIRED_OR_REVOKED = "Token has been expired or revoked.";

/** `POST /token`. */
export async function tokenEndpoint(state: EmulatorState, req: Request): Promise<Response> {
  const form = await readForm(req);
  if (form === undefined) {
    return oauthError(400, "invalid_request", "Expected application/x-www-form-urlencoded.");
  }
  const grantType = form.get("grant_type");
  const kind = grantType === "authorization_code" || grantType === "refresh_token"
    ? grantType
    : "other";
  const response = await (async () => {
    const client = authenticateClient(state, req, form);
    if (client instanceof Response) return client;
    if (grantType === "authorization_code") return await exchangeCode(state, client, form);
    if (grantType === "refresh_token") return await refresh(state, client, form);
    if (grantType === null) {
      return oauthError(400, "invalid_request", "Missing required parameter: grant_type");
    }
    return oauthError(400, "unsupported_grant_type", `Invalid grant_type: ${grantType}`);
  })();
  state.stats.tokenGrants[kind][response.ok ? "ok" : "error"] += 1;
  return response;
}

/** The client the request authenticates as, or Google's error answer. */
export function authenticateClient(
  state: EmulatorState,
  req: Request,
  form: URLSearchParams,
): ClientState | Response {
  const header = req.headers.get("authorization");
  let clientId = form.get("client_id");
  let secret = form.get("client_secret");
  const basic = header !== null && /^basic /i.test(header);
  if (basic) {
    if (secret !== null) {
      return oauthError(400, "invalid_request", "Multiple client authentication methods.");
    }
    const decoded = decodeBasic(header.slice(6).trim());
    if (decoded === undefined) return oauthError(401, "invalid_client", "Unauthorized");
    if (clientId !== null && clientId !== decoded.id) {
      return oauthError(400, "invalid_request", "client_id does not match the credentials.");
    }
    clientId = decoded.id;
    secret = decoded.secret;
  }
  if (clientId === null || clientId === "") {
    return oauthError(400, "invalid_request", "Could not determine client ID from request.");
  }
  const client = state.clients.get(clientId);
  if (client === undefined || client.deletion === "purged") {
    return oauthError(401, "invalid_client", "The OAuth client was not found.");
  }
  // Within the console's recovery window Google still knows the client, and says so.
  if (client.deletion === "deleted") {
    return oauthError(401, "deleted_client", "The OAuth client was deleted.");
  }
  if (secret === null || !client.secrets.includes(secret)) {
    return oauthError(401, "invalid_client", "Unauthorized");
  }
  return client;
}

async function exchangeCode(
  state: EmulatorState,
  client: ClientState,
  form: URLSearchParams,
): Promise<Response> {
  const code = form.get("code");
  if (code === null) {
    return oauthError(400, "invalid_request", "Missing required parameter: code");
  }
  const record = state.codes.get(code);
  if (record === undefined || record.clientId !== client.clientId) {
    return invalidGrant("Malformed auth code.");
  }
  if (record.used) {
    state.revokeCodeLineage(code);
    return invalidGrant("Authorization code was already redeemed.");
  }
  // A code gets one attempt, so a wrong verifier cannot be retried against it.
  record.used = true;
  if (record.expiresAt <= state.now()) return invalidGrant("Authorization code has expired.");
  const redirectUri = form.get("redirect_uri");
  if (redirectUri === null) {
    return oauthError(400, "invalid_request", "Missing required parameter: redirect_uri");
  }
  if (redirectUri !== record.redirectUri) return invalidGrant("redirect_uri does not match.");
  const verifier = form.get("code_verifier");
  if (record.codeChallenge !== undefined) {
    if (verifier === null) return invalidGrant("Missing code verifier.");
    if (!PKCE_VERIFIER_PATTERN.test(verifier)) return invalidGrant("Invalid code verifier.");
    const expected = record.codeChallengeMethod === "S256"
      ? await s256Challenge(verifier)
      : verifier;
    if (expected !== record.codeChallenge) return invalidGrant("Invalid code verifier.");
  } else if (verifier !== null) {
    return invalidGrant("code_verifier sent but the authorization request had no challenge.");
  }

  const { email, clientId, scopes } = record;
  const wantsRefresh = record.accessType === "offline" &&
    (record.prompt.includes("consent") || state.liveRefreshTokens(email, clientId).length === 0);
  let refreshToken: string | undefined;
  let refreshExpiresAt: number | undefined;
  if (wantsRefresh) {
    const lifetime = refreshLifetimeSeconds({
      publishing: client.publishing,
      scopes,
      timeLimitSeconds: client.timeLimitSeconds,
    });
    refreshExpiresAt = lifetime === undefined ? undefined : state.now() + lifetime * 1000;
    refreshToken = state.issueRefreshToken({ email, clientId, scopes }, code, refreshExpiresAt);
  }
  const access = state.issueAccessToken({ email, clientId, scopes }, { refreshToken, code });
  return await tokenResponse(state, access, {
    refreshToken,
    refreshExpiresAt,
    nonce: record.nonce,
  });
}

async function refresh(
  state: EmulatorState,
  client: ClientState,
  form: URLSearchParams,
): Promise<Response> {
  const token = form.get("refresh_token");
  if (token === null) {
    return oauthError(400, "invalid_request", "Missing required parameter: refresh_token");
  }
  const record = await state.findRefresh(token);
  if (record === undefined || record.revoked) return invalidGrant(EXPIRED_OR_REVOKED);
  if (record.clientId !== client.clientId) {
    return oauthError(400, "unauthorized_client", "Unauthorized");
  }
  // Testing-mode and time-limited grants end at a fixed time; any grant ends after six
  // months unused. Google answers all of them alike.
  if (refreshTokenLapse(record, state.now()) !== undefined) {
    return invalidGrant(EXPIRED_OR_REVOKED);
  }
  const requested = form.has("scope") ? parseScope(form.get("scope")) : record.scopes;
  if (requested.some((scope) => !record.scopes.includes(scope))) {
    return oauthError(400, "invalid_scope", "Scope not granted to this refresh token.");
  }
  record.lastUsedAt = state.now();
  // Without a scope parameter the grant's own array serves (100k bulk refreshes share it).
  const scopes = form.has("scope") ? grantedScopes(requested) : record.scopes;
  const access = state.issueAccessToken(
    { email: record.email, clientId: record.clientId, scopes },
    { refreshToken: token, code: undefined },
  );
  return await tokenResponse(state, access, {
    refreshToken: undefined,
    refreshExpiresAt: record.expiresAt,
    nonce: undefined,
  });
}

async function tokenResponse(
  state: EmulatorState,
  access: { token: string; record: AccessRecord },
  extra: {
    refreshToken: string | undefined;
    refreshExpiresAt: number | undefined;
    nonce: string | undefined;
  },
): Promise<Response> {
  const { record } = access;
  const body: Record<string, unknown> = {
    access_token: access.token,
    expires_in: state.config.accessTokenTtlSeconds,
  };
  if (extra.refreshToken !== undefined) body.refresh_token = extra.refreshToken;
  // Only set when access is time-limited (Testing mode, time-based access).
  const expiresIn = refreshTokenExpiresIn(extra.refreshExpiresAt, state.now());
  if (expiresIn !== undefined) body.refresh_token_expires_in = expiresIn;
  body.scope = record.scopes.join(" ");
  body.token_type = "Bearer";
  if (record.scopes.includes("openid")) {
    const account = state.accounts.get(record.email) as Account;
    body.id_token = await signIdToken(state, account, {
      clientId: record.clientId,
      scopes: record.scopes,
      accessToken: access.token,
      nonce: extra.nonce,
    });
  }
  return noStoreJson(body, 200);
}
