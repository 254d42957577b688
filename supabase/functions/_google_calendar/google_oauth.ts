/**
 * Google's OAuth 2.0 web-server flow through oauth4webapi: the consent URL, the code exchange,
 * refresh and revocation. Every call has a timeout; failures become AppErrors with stable codes.
 */

import * as oauth from "oauth4webapi";
import type { Config } from "./config.ts";
import { AppError, isAppError } from "./errors.ts";

/** What Google's token endpoint gave us, parsed. */
export interface GoogleTokenSet {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: Date | null;
  /**
   * When the refresh token itself lapses (`refresh_token_expires_in`): Testing-mode apps and
   * time-limited access. Null when Google gave no limit.
   */
  refreshTokenExpiresAt: Date | null;
  scopes: string[];
}

/** The Google account behind a consent, from the validated ID token. */
export interface GoogleAccount {
  sub: string;
  email: string | null;
  /** Google's `email_verified`: only a verified email may be compared with an expected one. */
  emailVerified: boolean;
}

/** Google's endpoints and our OAuth client, from the configuration. */
export type GoogleSettings = Config["google"];

/** Google's OAuth operations, each with a timeout and AppError codes. */
export interface GoogleOAuth {
  /**
   * The consent URL. Google is always asked to show its account chooser (`select_account`), so
   * the person sees which account is being linked; `consent` is added when we hold no refresh
   * token, since only a consent screen brings a new one.
   */
  authorizationUrl(options: {
    state: string;
    codeChallenge: string;
    forceConsent: boolean;
    loginHint?: string | undefined;
    /** Scopes beyond the configured ones (incremental consent for a tool that needs them). */
    extraScopes?: readonly string[] | undefined;
  }): URL;
  /** Validates the callback URL (state, iss, error) and exchanges its code with the verifier. */
  exchangeCode(
    callbackUrl: URL,
    options: { expectedState: string; codeVerifier: string },
  ): Promise<{ tokens: GoogleTokenSet; account: GoogleAccount }>;
  refresh(refreshToken: string): Promise<GoogleTokenSet>;
  /** True when Google revoked it; false when Google did not know it (already revoked). */
  revoke(token: string): Promise<boolean>;
}

/** Builds the OAuth client for `google`; `fetch` is for tests. */
export function createGoogleOAuth(
  google: GoogleSettings,
  options: { timeoutMs: number; fetch?: typeof fetch },
): GoogleOAuth {
  const as: oauth.AuthorizationServer = {
    issuer: google.issuer,
    authorization_endpoint: google.authorizationEndpoint,
    token_endpoint: google.tokenEndpoint,
    revocation_endpoint: google.revocationEndpoint,
  };
  // Google signs some ID tokens with the legacy issuer spelling "accounts.google.com" (no scheme)
  // and documents both as valid. oauth4webapi compares `iss` strictly, with an internal hook
  // (the one openid-client uses) for exactly this; accept those two spellings, nothing looser.
  const bareIssuer = new URL(google.issuer).host;
  const expectedIssuerHook = (oauth as unknown as { _expectedIssuer?: symbol })._expectedIssuer;
  if (expectedIssuerHook) {
    (as as unknown as Record<symbol, unknown>)[expectedIssuerHook] = (
      result: { claims: { iss?: string } },
    ) => result.claims.iss === bareIssuer ? bareIssuer : google.issuer;
  }
  const client: oauth.Client = { client_id: google.clientId };
  // Google rejects oauth4webapi's client_secret_basic encoding; the POST body form works.
  const clientAuth = oauth.ClientSecretPost(google.clientSecret);
  const requestOptions = () => ({
    signal: AbortSignal.timeout(options.timeoutMs),
    ...(google.allowInsecureRequests ? { [oauth.allowInsecureRequests]: true } : {}),
    ...(options.fetch ? { [oauth.customFetch]: options.fetch } : {}),
  });

  return {
    authorizationUrl({ state, codeChallenge, forceConsent, loginHint, extraScopes }) {
      const url = new URL(google.authorizationEndpoint);
      url.searchParams.set("client_id", google.clientId);
      url.searchParams.set("redirect_uri", google.redirectUri);
      url.searchParams.set("response_type", "code");
      // Extra scopes (incremental consent) ride with the configured ones; include_granted_scopes
      // keeps whatever the person granted before.
      const scopes = [...new Set([...google.scopes, ...(extraScopes ?? [])])];
      url.searchParams.set("scope", scopes.join(" "));
      url.searchParams.set("access_type", "offline");
      url.searchParams.set("include_granted_scopes", "true");
      url.searchParams.set("state", state);
      url.searchParams.set("code_challenge", codeChallenge);
      url.searchParams.set("code_challenge_method", "S256");
      // The account chooser always, so a forwarded link shows whose calendar is being linked.
      // Forcing consent mints a new refresh token; Google keeps only 100 per account, so ask
      // for it only when we hold none.
      url.searchParams.set("prompt", forceConsent ? "select_account consent" : "select_account");
      if (loginHint) url.searchParams.set("login_hint", loginHint);
      return url;
    },

    async exchangeCode(callbackUrl, { expectedState, codeVerifier }) {
      let params: URLSearchParams;
      try {
        params = oauth.validateAuthResponse(as, client, callbackUrl, expectedState);
      } catch (error) {
        if (error instanceof oauth.AuthorizationResponseError) {
          const code = error.error === "access_denied" ? "consent_denied" : "google_error";
          throw new AppError(code, "Google did not grant access.", { cause: error });
        }
        throw new AppError("invalid_request", "The answer from Google is not valid.", {
          cause: error,
        });
      }
      const result = await callTokenEndpoint(async () => {
        const response = await oauth.authorizationCodeGrantRequest(
          as,
          client,
          clientAuth,
          params,
          google.redirectUri,
          codeVerifier,
          requestOptions(),
        );
        return await oauth.processAuthorizationCodeResponse(as, client, response, {
          requireIdToken: true,
        });
      }).catch((error) => {
        // For a code, invalid_grant means this code or verifier is wrong, not a lost grant.
        if (isAppError(error, "google_reconnect_required")) {
          throw new AppError("google_error", "Google did not accept the authorization code.", {
            cause: error.cause,
          });
        }
        throw error;
      });
      const claims = oauth.getValidatedIdTokenClaims(result);
      if (!claims || typeof claims.sub !== "string") {
        throw new AppError("google_error", "Google did not say which account was connected.");
      }
      return {
        tokens: toTokenSet(result),
        account: {
          sub: claims.sub,
          email: typeof claims.email === "string" ? claims.email : null,
          // Google sends a boolean; some older tokens carried the string "true".
          emailVerified: claims.email_verified === true || claims.email_verified === "true",
        },
      };
    },

    async refresh(refreshToken) {
      const result = await callTokenEndpoint(async () => {
        const response = await oauth.refreshTokenGrantRequest(
          as,
          client,
          clientAuth,
          refreshToken,
          requestOptions(),
        );
        return await oauth.processRefreshTokenResponse(as, client, response);
      });
      return toTokenSet(result);
    },

    async revoke(token) {
      try {
        const response = await oauth.revocationRequest(
          as,
          client,
          clientAuth,
          token,
          requestOptions(),
        );
        await oauth.processRevocationResponse(response);
        return true;
      } catch (error) {
        // Google answers 400 invalid_token for a token it no longer knows: nothing left to
        // revoke (https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke).
        // Any other answer (another 400 error, 5xx, no answer) leaves the grant alive: retry.
        if (
          error instanceof oauth.ResponseBodyError && error.status === 400 &&
          error.error === "invalid_token"
        ) {
          return false;
        }
        if (
          error instanceof oauth.ResponseBodyError &&
          ["invalid_client", "unauthorized_client", "deleted_client", "disabled_client"]
            .includes(error.error)
        ) {
          throw new AppError(
            "google_client_misconfigured",
            "The app's Google OAuth client is not accepted by Google.",
            { cause: error },
          );
        }
        throw new AppError("google_unavailable", "Google did not revoke access; try again later.", {
          cause: error,
        });
      }
    },
  };
}

function toTokenSet(result: oauth.TokenEndpointResponse): GoogleTokenSet {
  if (result.token_type?.toLowerCase() !== "bearer") {
    throw new AppError("google_unavailable", "Google sent an unexpected token type.");
  }
  return {
    accessToken: result.access_token,
    refreshToken: typeof result.refresh_token === "string" && result.refresh_token
      ? result.refresh_token
      : null,
    expiresAt: typeof result.expires_in === "number"
      ? new Date(Date.now() + result.expires_in * 1000)
      : null,
    refreshTokenExpiresAt: typeof result.refresh_token_expires_in === "number" &&
        result.refresh_token_expires_in > 0
      ? new Date(Date.now() + result.refresh_token_expires_in * 1000)
      : null,
    scopes: typeof result.scope === "string" ? result.scope.split(" ").filter(Boolean) : [],
  };
}

/**
 * Classifies token endpoint failures: an OAuth error answer (4xx with `error`) is Google's word
 * on the grant (`invalid_grant` and friends); timeouts, network errors, 5xx and unparseable
 * answers mean Google is unavailable and the same call may work later.
 */
async function callTokenEndpoint<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError && error.status < 500) {
      if (error.error === "invalid_grant") {
        throw new AppError("google_reconnect_required", "Google no longer accepts this grant.", {
          cause: error,
        });
      }
      // The OAuth client itself was deleted, disabled or its secret rotated: every user fails
      // alike, and only the operator can fix it. Never a reason to delete anyone's grant.
      if (
        error.error === "invalid_client" || error.error === "unauthorized_client" ||
        error.error === "deleted_client" || error.error === "disabled_client"
      ) {
        throw new AppError(
          "google_client_misconfigured",
          "The app's Google OAuth client is not accepted by Google.",
          { cause: error },
        );
      }
      throw new AppError("google_error", "Google refused the request.", { cause: error });
    }
    if (error instanceof oauth.WWWAuthenticateChallengeError && error.status === 401) {
      // A 401 from the token endpoint is client authentication failing (invalid_client).
      throw new AppError(
        "google_client_misconfigured",
        "The app's Google OAuth client is not accepted by Google.",
        { cause: error },
      );
    }
    if (
      error instanceof oauth.OperationProcessingError && error.code === oauth.JWT_CLAIM_COMPARISON
    ) {
      // An ID token for another client or issuer: never "try again later".
      throw new AppError("google_error", "Google's answer did not check out.", { cause: error });
    }
    throw new AppError("google_unavailable", "Google is not answering as expected.", {
      cause: error,
    });
  }
}
