/**
 * A local emulator of Google's OAuth 2.0 / OpenID Connect web-server flow and a sliver of the
 * Calendar API, for development and tests on machines that cannot reach Google.
 *
 * @module
 */

import * as jose from "jose";
import { type CalendarEvent, listEvents, parseSeedEvents, type SeedEvent } from "./calendar.ts";
import { renderConsentPage, renderErrorPage } from "./consent_page.ts";
import {
  accessTokenHash,
  deriveSub,
  PKCE_S256_CHALLENGE_PATTERN,
  PKCE_VERIFIER_PATTERN,
  randomToken,
  s256Challenge,
} from "./crypto_utils.ts";
import {
  type FaultEndpoint,
  FaultInjector,
  type FaultKind,
  type FaultSpec,
  parseFaultSpec,
} from "./faults.ts";
import {
  allowsCalendarRead,
  grantedScopes,
  isKnownScope,
  isSignInScope,
  parseScope,
} from "./scopes.ts";

export type { FaultEndpoint, FaultKind, FaultSpec, SeedEvent };

/** An OAuth client registered with the emulator. */
export interface GoogleClient {
  clientId: string;
  clientSecret: string;
  /** Exact redirect URIs; Google compares them character for character. */
  redirectUris: string[];
}

/** "url" → `iss` is the issuer URL; "bare" → the issuer without scheme, like `accounts.google.com`. */
export type IdTokenIssuerStyle = "url" | "bare";

/** Options of {@linkcode createGoogleEmulator}. */
export interface GoogleEmulatorOptions {
  /** Base URL the emulator is reachable at; every published URL derives from it. */
  issuer: string;
  clients: GoogleClient[];
  /** Default 3599, like Google. */
  accessTokenTtlSeconds?: number;
  /** Lifetime of authorization codes and pending consent screens. Default 600. */
  codeTtlSeconds?: number;
  /** Default "url". */
  idTokenIssuerStyle?: IdTokenIssuerStyle;
  /** Clock in milliseconds since the epoch; defaults to `Date.now`. */
  now?: () => number;
  /** Accounts listed in the consent page's chooser from the start. */
  accounts?: string[];
}

/** Settings that may change while the emulator runs. */
export interface EmulatorConfig {
  accessTokenTtlSeconds?: number;
  codeTtlSeconds?: number;
  idTokenIssuerStyle?: IdTokenIssuerStyle;
}

/** Successes and failures of one kind of call. */
export interface OutcomeCounts {
  ok: number;
  error: number;
}

/** Call counts since start or the last reset. */
export interface EmulatorStats {
  /** Token endpoint calls by grant_type; "other" holds unknown or missing grant types. */
  tokenGrants: {
    authorization_code: OutcomeCounts;
    refresh_token: OutcomeCounts;
    other: OutcomeCounts;
  };
  revocations: OutcomeCounts;
  accountRevocations: number;
  eventsCalls: OutcomeCounts;
  /** Calls answered by an injected fault (not counted above). */
  faultsServed: Record<FaultEndpoint, number>;
  /** Faults still queued. */
  faultsPending: Record<FaultEndpoint, number>;
}

/** A live refresh token as the emulator issued it. */
export interface IssuedRefreshToken {
  token: string;
  clientId: string;
  scope: string;
  createdAt: string;
}

/** A non-revoked access token as the emulator issued it. */
export interface IssuedAccessToken {
  token: string;
  clientId: string;
  scope: string;
  issuedAt: string;
  expiresAt: string;
  expiresAtMs: number;
  expired: boolean;
  /** The refresh token whose grant it belongs to, if any. */
  refreshToken: string | null;
}

/** What the emulator issued to one account. */
export interface AccountTokens {
  email: string;
  sub: string;
  /** Live refresh tokens, oldest first. */
  refreshTokens: IssuedRefreshToken[];
  /** Non-revoked access tokens (expired ones flagged), oldest first. */
  accessTokens: IssuedAccessToken[];
  latestAccessToken: IssuedAccessToken | null;
}

/** A running emulator: an HTTP handler plus the test controls as methods. */
export interface GoogleEmulator {
  readonly issuer: string;
  /** Answers one HTTP request (mount it in `Deno.serve` or call it directly in tests). */
  handler(req: Request): Promise<Response>;
  /** `fetch` against the handler, without a network: `emulator.fetch("/token", init)`. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** The person removed the app's access: every token, code and grant of the account dies. */
  revokeAccount(email: string): void;
  /** The next `count` calls to the endpoint fail as `kind`. */
  addFault(spec: FaultSpec): void;
  clearFaults(): void;
  stats(): EmulatorStats;
  resetStats(): void;
  /** Tokens issued to the account, or undefined for an account never seen. */
  accountTokens(email: string): AccountTokens | undefined;
  configure(config: EmulatorConfig): void;
  /** Adds events to the account's primary calendar. */
  seedEvents(email: string, items: SeedEvent[]): Promise<void>;
  /** Shifts the emulator clock by `offsetMs` from the injected/real clock (not cumulative). */
  setClockOffset(offsetMs: number): void;
  /** The emulator's current time in ms. */
  now(): number;
  /** The public JWKS that verifies id_tokens. */
  jwks(): jose.JSONWebKeySet;
  /** Releases hanging fault calls and their timers. */
  close(): void;
}

/** How many live refresh tokens Google keeps per account and client. */
export const MAX_REFRESH_TOKENS_PER_CLIENT = 100;

const AUTH_PATH = "/o/oauth2/v2/auth";
const CONSENT_PATH = "/o/oauth2/v2/auth/consent";
const TOKEN_PATH = "/token";
const REVOKE_PATH = "/revoke";
const CERTS_PATH = "/oauth2/v3/certs";
const DISCOVERY_PATH = "/.well-known/openid-configuration";
const EVENTS_PATH = "/calendar/v3/calendars/primary/events";
const ID_TOKEN_TTL_SECONDS = 3600;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PROMPT_VALUES = ["none", "consent", "select_account"];

interface PendingConsent {
  clientId: string;
  redirectUri: string;
  state: string | undefined;
  scopes: string[];
  codeChallenge: string | undefined;
  codeChallengeMethod: "S256" | "plain" | undefined;
  accessType: "online" | "offline";
  prompt: string[];
  nonce: string | undefined;
  loginHint: string | undefined;
  includeGrantedScopes: boolean;
  expiresAt: number;
}

interface AuthCode {
  clientId: string;
  redirectUri: string;
  email: string;
  scopes: string[];
  codeChallenge: string | undefined;
  codeChallengeMethod: "S256" | "plain" | undefined;
  accessType: "online" | "offline";
  prompt: string[];
  nonce: string | undefined;
  expiresAt: number;
  used: boolean;
}

interface RefreshRecord {
  email: string;
  clientId: string;
  scopes: string[];
  createdAt: number;
  code: string | undefined;
  revoked: boolean;
}

interface AccessRecord {
  email: string;
  clientId: string;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
  refreshToken: string | undefined;
  code: string | undefined;
  revoked: boolean;
}

interface Account {
  email: string;
  sub: string;
}

type FormLike = URLSearchParams;

/** Who a token was issued to and for what. */
interface Lineage {
  email: string;
  clientId: string;
  scopes: string[];
}

/** Creates an emulator; generates a fresh RS256 signing key. */
export async function createGoogleEmulator(
  options: GoogleEmulatorOptions,
): Promise<GoogleEmulator> {
  const issuer = options.issuer.replace(/\/+$/, "");
  const issuerUrl = new URL(issuer);
  const basePath = issuerUrl.pathname.replace(/\/+$/, "");
  const clients = new Map(options.clients.map((client) => [client.clientId, client]));
  const config: Required<EmulatorConfig> = {
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3599,
    codeTtlSeconds: options.codeTtlSeconds ?? 600,
    idTokenIssuerStyle: options.idTokenIssuerStyle ?? "url",
  };
  const baseClock = options.now ?? Date.now;
  let clockOffsetMs = 0;
  const now = () => baseClock() + clockOffsetMs;

  const { privateKey, publicKey } = await jose.generateKeyPair("RS256");
  const publicJwk = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(publicJwk);
  const jwks: jose.JSONWebKeySet = { keys: [{ ...publicJwk, kid, alg: "RS256", use: "sig" }] };

  const accounts = new Map<string, Account>();
  const consents = new Map<string, PendingConsent>();
  const codes = new Map<string, AuthCode>();
  const refreshTokens = new Map<string, RefreshRecord>();
  const accessTokens = new Map<string, AccessRecord>();
  /** Scopes each account granted each client, for include_granted_scopes. */
  const grants = new Map<string, Set<string>>();
  const events = new Map<string, CalendarEvent[]>();
  const faults = new FaultInjector();
  let stats = emptyStats();

  for (const email of options.accounts ?? []) await ensureAccount(email);

  async function ensureAccount(rawEmail: string): Promise<Account> {
    const email = normaliseEmail(rawEmail);
    const known = accounts.get(email);
    if (known !== undefined) return known;
    const account = { email, sub: await deriveSub(email) };
    accounts.set(email, account);
    return account;
  }

  function publicUrl(path: string): string {
    return issuer + path;
  }

  // --- revocation -------------------------------------------------------------------------

  function revokeRefresh(token: string): void {
    const record = refreshTokens.get(token);
    if (record === undefined) return;
    record.revoked = true;
    for (const access of accessTokens.values()) {
      if (access.refreshToken === token) access.revoked = true;
    }
  }

  /** RFC 6749 §4.1.2: a replayed code takes down what it minted. */
  function revokeCodeLineage(code: string): void {
    for (const [token, record] of refreshTokens) if (record.code === code) revokeRefresh(token);
    for (const access of accessTokens.values()) if (access.code === code) access.revoked = true;
  }

  function revokeAccount(rawEmail: string): void {
    const email = normaliseEmail(rawEmail);
    for (const record of refreshTokens.values()) if (record.email === email) record.revoked = true;
    for (const record of accessTokens.values()) if (record.email === email) record.revoked = true;
    for (const [code, record] of codes) if (record.email === email) codes.delete(code);
    for (const key of grants.keys()) if (key.startsWith(`${email}\n`)) grants.delete(key);
    stats.accountRevocations += 1;
  }

  function liveRefreshTokens(email: string, clientId: string): string[] {
    const live: string[] = [];
    for (const [token, record] of refreshTokens) {
      if (!record.revoked && record.email === email && record.clientId === clientId) {
        live.push(token);
      }
    }
    return live;
  }

  // --- issuing ----------------------------------------------------------------------------

  function issueRefreshToken(lineage: Lineage, code: string): string {
    const { email, clientId, scopes } = lineage;
    const token = randomToken("1//", 64);
    refreshTokens.set(token, { email, clientId, scopes, createdAt: now(), code, revoked: false });
    const live = liveRefreshTokens(email, clientId);
    // Google silently drops the oldest once a client holds too many for one account.
    while (live.length > MAX_REFRESH_TOKENS_PER_CLIENT) revokeRefresh(live.shift() as string);
    return token;
  }

  function issueAccessToken(
    lineage: Lineage,
    from: { refreshToken: string | undefined; code: string | undefined },
  ): { token: string; record: AccessRecord } {
    const token = randomToken("ya29.", 96);
    const issuedAt = now();
    const record: AccessRecord = {
      ...lineage,
      issuedAt,
      expiresAt: issuedAt + config.accessTokenTtlSeconds * 1000,
      refreshToken: from.refreshToken,
      code: from.code,
      revoked: false,
    };
    accessTokens.set(token, record);
    return { token, record };
  }

  async function signIdToken(
    account: Account,
    grant: { clientId: string; scopes: string[] },
    extra: { accessToken: string; nonce: string | undefined },
  ): Promise<string> {
    const { clientId, scopes } = grant;
    const iat = Math.floor(now() / 1000);
    const claims: jose.JWTPayload & Record<string, unknown> = {
      iss: config.idTokenIssuerStyle === "bare" ? issuer.replace(/^https?:\/\//, "") : issuer,
      azp: clientId,
      aud: clientId,
      sub: account.sub,
    };
    // Like Google, the email claims come with the email scope only.
    if (
      scopes.includes("email") || scopes.includes("https://www.googleapis.com/auth/userinfo.email")
    ) {
      claims.email = account.email;
      claims.email_verified = true;
    }
    claims.at_hash = await accessTokenHash(extra.accessToken);
    if (extra.nonce !== undefined) claims.nonce = extra.nonce;
    claims.iat = iat;
    claims.exp = iat + ID_TOKEN_TTL_SECONDS;
    return await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
      .sign(privateKey);
  }

  async function tokenResponse(
    access: { token: string; record: AccessRecord },
    extra: { refreshToken: string | undefined; nonce: string | undefined },
  ): Promise<Response> {
    const { record } = access;
    const body: Record<string, unknown> = {
      access_token: access.token,
      expires_in: config.accessTokenTtlSeconds,
    };
    if (extra.refreshToken !== undefined) body.refresh_token = extra.refreshToken;
    body.scope = record.scopes.join(" ");
    body.token_type = "Bearer";
    if (record.scopes.includes("openid")) {
      const account = accounts.get(record.email) as Account;
      body.id_token = await signIdToken(account, record, {
        accessToken: access.token,
        nonce: extra.nonce,
      });
    }
    return noStoreJson(body, 200);
  }

  // --- endpoints --------------------------------------------------------------------------

  function discovery(): Response {
    return Response.json({
      issuer,
      authorization_endpoint: publicUrl(AUTH_PATH),
      token_endpoint: publicUrl(TOKEN_PATH),
      revocation_endpoint: publicUrl(REVOKE_PATH),
      jwks_uri: publicUrl(CERTS_PATH),
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

  function authorize(query: URLSearchParams): Response {
    const clientId = query.get("client_id");
    const client = clientId === null ? undefined : clients.get(clientId);
    // Without a trusted client and redirect_uri Google shows an error page and never redirects.
    if (client === undefined) {
      return errorPage("invalid_client", "The OAuth client was not found.");
    }
    const redirectUri = query.get("redirect_uri");
    if (redirectUri === null) {
      return errorPage("invalid_request", "Missing required parameter: redirect_uri");
    }
    if (!client.redirectUris.includes(redirectUri)) {
      return errorPage(
        "redirect_uri_mismatch",
        `The redirect URI in the request, ${redirectUri}, does not match the ones authorized ` +
          "for the OAuth client.",
      );
    }
    const state = query.get("state") ?? undefined;
    const fail = (error: string, description: string) =>
      redirectWith(redirectUri, { error, error_description: description, state });

    if (query.get("response_type") !== "code") {
      return fail("unsupported_response_type", "Only response_type=code is supported.");
    }
    const scopes = parseScope(query.get("scope"));
    if (scopes.length === 0) return fail("invalid_request", "Missing required parameter: scope");
    const unknown = scopes.find((scope) => !isKnownScope(scope));
    if (unknown !== undefined) return fail("invalid_scope", `Invalid scope: ${unknown}`);

    const codeChallenge = query.get("code_challenge") ?? undefined;
    const methodParam = query.get("code_challenge_method");
    if (codeChallenge === undefined && methodParam !== null) {
      return fail("invalid_request", "code_challenge_method without code_challenge");
    }
    let codeChallengeMethod: "S256" | "plain" | undefined;
    if (codeChallenge !== undefined) {
      // RFC 7636: a missing method means plain.
      const method = methodParam ?? "plain";
      if (method !== "S256" && method !== "plain") {
        return fail("invalid_request", "Invalid code_challenge_method");
      }
      const pattern = method === "S256" ? PKCE_S256_CHALLENGE_PATTERN : PKCE_VERIFIER_PATTERN;
      if (!pattern.test(codeChallenge)) return fail("invalid_request", "Invalid code_challenge");
      codeChallengeMethod = method;
    }
    const accessType = query.get("access_type") ?? "online";
    if (accessType !== "online" && accessType !== "offline") {
      return fail("invalid_request", `Invalid access_type: ${accessType}`);
    }
    const prompt = parseScope(query.get("prompt"));
    if (
      prompt.some((value) => !PROMPT_VALUES.includes(value)) ||
      (prompt.includes("none") && prompt.length > 1)
    ) {
      return fail("invalid_request", "Invalid prompt");
    }
    // The emulator has no browser session, so a silent request is always a signed-out one.
    if (prompt.includes("none")) return fail("interaction_required", "No signed-in session.");

    const consentId = randomToken("", 24);
    const loginHint = query.get("login_hint") ?? undefined;
    consents.set(consentId, {
      clientId: client.clientId,
      redirectUri,
      state,
      scopes,
      codeChallenge,
      codeChallengeMethod,
      accessType,
      prompt,
      nonce: query.get("nonce") ?? undefined,
      loginHint,
      includeGrantedScopes: query.get("include_granted_scopes") === "true",
      expiresAt: now() + config.codeTtlSeconds * 1000,
    });
    const html = renderConsentPage({
      action: publicUrl(CONSENT_PATH),
      consentId,
      clientId: client.clientId,
      scopes,
      accounts: [...accounts.keys()],
      loginHint,
    });
    return new Response(html, {
      status: 200,
      headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
    });
  }

  async function consent(form: FormLike): Promise<Response> {
    const consentId = form.get("consent_id") ?? "";
    const pending = consents.get(consentId);
    // Answered consents are deleted, so a replayed consent_id lands here too.
    if (pending === undefined || pending.expiresAt <= now()) {
      return errorPage("invalid_request", "Unknown, expired or already answered consent request.");
    }
    const action = form.get("action");
    if (action !== "allow" && action !== "cancel") {
      return errorPage("invalid_request", "action must be allow or cancel.");
    }
    const state = pending.state;
    if (action === "cancel") {
      consents.delete(consentId);
      return redirectWith(pending.redirectUri, { error: "access_denied", state });
    }
    // The typed field wins; the chooser's radio is the fallback.
    const email = normaliseEmail(form.get("email")?.trim() || form.get("account") || "");
    if (!EMAIL_PATTERN.test(email)) return errorPage("invalid_request", "Enter a valid email.");
    consents.delete(consentId);

    const ticked = new Set(form.getAll("scope"));
    const chosen = pending.scopes.filter((scope) => isSignInScope(scope) || ticked.has(scope));
    const grantKey = `${email}\n${pending.clientId}`;
    const previous = pending.includeGrantedScopes ? grants.get(grantKey) : undefined;
    const scopes = grantedScopes([...chosen, ...(previous ?? [])]);
    if (scopes.length === 0) {
      return redirectWith(pending.redirectUri, { error: "access_denied", state });
    }

    await ensureAccount(email);
    grants.set(grantKey, new Set([...(grants.get(grantKey) ?? []), ...scopes]));
    const code = randomToken("4/0A", 48);
    codes.set(code, {
      clientId: pending.clientId,
      redirectUri: pending.redirectUri,
      email,
      scopes,
      codeChallenge: pending.codeChallenge,
      codeChallengeMethod: pending.codeChallengeMethod,
      accessType: pending.accessType,
      prompt: pending.prompt,
      nonce: pending.nonce,
      expiresAt: now() + config.codeTtlSeconds * 1000,
      used: false,
    });
    return redirectWith(pending.redirectUri, {
      state,
      iss: issuer,
      code,
      scope: scopes.join(" "),
      authuser: "0",
      prompt: "consent",
    });
  }

  function authenticateClient(req: Request, form: FormLike): GoogleClient | Response {
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
    const client = clients.get(clientId);
    if (client === undefined) {
      return oauthError(401, "invalid_client", "The OAuth client was not found.");
    }
    if (secret !== client.clientSecret) return oauthError(401, "invalid_client", "Unauthorized");
    return client;
  }

  async function exchangeCode(client: GoogleClient, form: FormLike): Promise<Response> {
    const code = form.get("code");
    if (code === null) {
      return oauthError(400, "invalid_request", "Missing required parameter: code");
    }
    const record = codes.get(code);
    if (record === undefined || record.clientId !== client.clientId) {
      return invalidGrant("Malformed auth code.");
    }
    if (record.used) {
      revokeCodeLineage(code);
      return invalidGrant("Authorization code was already redeemed.");
    }
    // A code gets one attempt, so a wrong verifier cannot be retried against it.
    record.used = true;
    if (record.expiresAt <= now()) return invalidGrant("Authorization code has expired.");
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
      (record.prompt.includes("consent") || liveRefreshTokens(email, clientId).length === 0);
    const refreshToken = wantsRefresh
      ? issueRefreshToken({ email, clientId, scopes }, code)
      : undefined;
    const access = issueAccessToken({ email, clientId, scopes }, { refreshToken, code });
    return await tokenResponse(access, { refreshToken, nonce: record.nonce });
  }

  async function refresh(client: GoogleClient, form: FormLike): Promise<Response> {
    const token = form.get("refresh_token");
    if (token === null) {
      return oauthError(400, "invalid_request", "Missing required parameter: refresh_token");
    }
    const record = refreshTokens.get(token);
    if (record === undefined || record.revoked) {
      return invalidGrant("Token has been expired or revoked.");
    }
    if (record.clientId !== client.clientId) {
      return oauthError(400, "unauthorized_client", "Unauthorized");
    }
    const requested = form.has("scope") ? parseScope(form.get("scope")) : record.scopes;
    if (requested.some((scope) => !record.scopes.includes(scope))) {
      return oauthError(400, "invalid_scope", "Scope not granted to this refresh token.");
    }
    const access = issueAccessToken(
      { email: record.email, clientId: record.clientId, scopes: grantedScopes(requested) },
      { refreshToken: token, code: undefined },
    );
    return await tokenResponse(access, { refreshToken: undefined, nonce: undefined });
  }

  async function tokenEndpoint(req: Request): Promise<Response> {
    const form = await readForm(req);
    if (form === undefined) {
      return oauthError(400, "invalid_request", "Expected application/x-www-form-urlencoded.");
    }
    const grantType = form.get("grant_type");
    const kind = grantType === "authorization_code" || grantType === "refresh_token"
      ? grantType
      : "other";
    const response = await (async () => {
      const client = authenticateClient(req, form);
      if (client instanceof Response) return client;
      if (grantType === "authorization_code") return await exchangeCode(client, form);
      if (grantType === "refresh_token") return await refresh(client, form);
      if (grantType === null) {
        return oauthError(400, "invalid_request", "Missing required parameter: grant_type");
      }
      return oauthError(400, "unsupported_grant_type", `Invalid grant_type: ${grantType}`);
    })();
    stats.tokenGrants[kind][response.ok ? "ok" : "error"] += 1;
    return response;
  }

  async function revokeEndpoint(req: Request, query: URLSearchParams): Promise<Response> {
    const form = await readForm(req);
    const token = form?.get("token") ?? query.get("token");
    const response = (() => {
      if (token === null || token === "") {
        return oauthError(400, "invalid_request", "Missing required parameter: token");
      }
      const refreshRecord = refreshTokens.get(token);
      if (refreshRecord !== undefined && !refreshRecord.revoked) {
        revokeRefresh(token);
        return Response.json({});
      }
      const access = accessTokens.get(token);
      if (access !== undefined && !access.revoked && access.expiresAt > now()) {
        access.revoked = true;
        // Google: revoking an access token also revokes the refresh token of its grant.
        if (access.refreshToken !== undefined) revokeRefresh(access.refreshToken);
        return Response.json({});
      }
      return oauthError(400, "invalid_token", "Token expired or revoked");
    })();
    stats.revocations[response.ok ? "ok" : "error"] += 1;
    return response;
  }

  function eventsEndpoint(req: Request, query: URLSearchParams): Response {
    const response = (() => {
      // Google stopped accepting access tokens in the query string.
      if (query.has("access_token")) return unauthenticated("missing");
      const header = req.headers.get("authorization") ?? "";
      const match = /^bearer\s+(\S+)$/i.exec(header);
      if (match === null) return unauthenticated("missing");
      const record = accessTokens.get(match[1] as string);
      if (record === undefined || record.revoked || record.expiresAt <= now()) {
        return unauthenticated("invalid");
      }
      if (!allowsCalendarRead(record.scopes)) return insufficientScope();
      const items = listEvents(events.get(record.email) ?? [], query);
      if (typeof items === "string") {
        return Response.json({
          error: {
            code: 400,
            message: items,
            errors: [{ domain: "global", reason: "badRequest", message: items }],
            status: "INVALID_ARGUMENT",
          },
        }, { status: 400 });
      }
      return Response.json({
        kind: "calendar#events",
        etag: `"${now()}"`,
        summary: record.email,
        updated: new Date(now()).toISOString(),
        timeZone: "UTC",
        accessRole: "owner",
        defaultReminders: [],
        items,
      });
    })();
    stats.eventsCalls[response.ok ? "ok" : "error"] += 1;
    return response;
  }

  // --- test controls ----------------------------------------------------------------------

  function accountTokens(rawEmail: string): AccountTokens | undefined {
    const account = accounts.get(normaliseEmail(rawEmail));
    if (account === undefined) return undefined;
    const refresh: IssuedRefreshToken[] = [];
    for (const [token, record] of refreshTokens) {
      if (record.email !== account.email || record.revoked) continue;
      refresh.push({
        token,
        clientId: record.clientId,
        scope: record.scopes.join(" "),
        createdAt: new Date(record.createdAt).toISOString(),
      });
    }
    const access: IssuedAccessToken[] = [];
    for (const [token, record] of accessTokens) {
      if (record.email !== account.email || record.revoked) continue;
      access.push({
        token,
        clientId: record.clientId,
        scope: record.scopes.join(" "),
        issuedAt: new Date(record.issuedAt).toISOString(),
        expiresAt: new Date(record.expiresAt).toISOString(),
        expiresAtMs: record.expiresAt,
        expired: record.expiresAt <= now(),
        refreshToken: record.refreshToken ?? null,
      });
    }
    return {
      email: account.email,
      sub: account.sub,
      refreshTokens: refresh,
      accessTokens: access,
      latestAccessToken: access.at(-1) ?? null,
    };
  }

  function configure(update: EmulatorConfig): void {
    if (update.accessTokenTtlSeconds !== undefined) {
      config.accessTokenTtlSeconds = update.accessTokenTtlSeconds;
    }
    if (update.codeTtlSeconds !== undefined) config.codeTtlSeconds = update.codeTtlSeconds;
    if (update.idTokenIssuerStyle !== undefined) {
      config.idTokenIssuerStyle = update.idTokenIssuerStyle;
    }
  }

  async function seedEvents(email: string, items: SeedEvent[]): Promise<void> {
    const parsed = parseSeedEvents(items);
    if (typeof parsed === "string") throw new TypeError(parsed);
    const account = await ensureAccount(email);
    events.set(account.email, [...(events.get(account.email) ?? []), ...parsed]);
  }

  async function control(req: Request, path: string, query: URLSearchParams): Promise<Response> {
    const route = `${req.method} ${path}`;
    if (route === "GET /__emulator/stats") return Response.json(emulator.stats());
    if (route === "POST /__emulator/reset-stats") {
      stats = emptyStats();
      return Response.json({});
    }
    if (route === "GET /__emulator/accounts/tokens") {
      const tokens = accountTokens(query.get("email") ?? "");
      return tokens === undefined
        ? Response.json({ error: "unknown account" }, { status: 404 })
        : noStoreJson(tokens, 200);
    }
    if (route === "DELETE /__emulator/faults") {
      faults.clear();
      return Response.json({});
    }
    if (req.method !== "POST") return Response.json({ error: "not found" }, { status: 404 });
    const body = await req.json().catch(() => undefined) as Record<string, unknown> | undefined;
    if (typeof body !== "object" || body === null) return badControl("body must be a JSON object");
    switch (path) {
      case "/__emulator/accounts/revoke": {
        if (typeof body.email !== "string") return badControl("email is required");
        revokeAccount(body.email);
        return Response.json({});
      }
      case "/__emulator/faults": {
        const spec = parseFaultSpec(body);
        if (typeof spec === "string") return badControl(spec);
        faults.add(spec);
        return Response.json({ pending: faults.pending() });
      }
      case "/__emulator/config": {
        const { accessTokenTtlSeconds, codeTtlSeconds, idTokenIssuerStyle } = body;
        const update: EmulatorConfig = {};
        if (accessTokenTtlSeconds !== undefined) {
          if (!isPositiveNumber(accessTokenTtlSeconds)) return badControl("bad ttl");
          update.accessTokenTtlSeconds = accessTokenTtlSeconds;
        }
        if (codeTtlSeconds !== undefined) {
          if (!isPositiveNumber(codeTtlSeconds)) return badControl("bad ttl");
          update.codeTtlSeconds = codeTtlSeconds;
        }
        if (idTokenIssuerStyle !== undefined) {
          if (idTokenIssuerStyle !== "url" && idTokenIssuerStyle !== "bare") {
            return badControl('idTokenIssuerStyle must be "url" or "bare"');
          }
          update.idTokenIssuerStyle = idTokenIssuerStyle;
        }
        configure(update);
        return Response.json({ ...config });
      }
      case "/__emulator/events": {
        if (typeof body.email !== "string") return badControl("email is required");
        const parsed = parseSeedEvents(body.items);
        if (typeof parsed === "string") return badControl(parsed);
        await seedEvents(body.email, parsed);
        return Response.json({ count: events.get(normaliseEmail(body.email))?.length ?? 0 });
      }
      case "/__emulator/clock": {
        const { offsetMs, advanceMs } = body;
        if (typeof offsetMs === "number") clockOffsetMs = offsetMs;
        else if (typeof advanceMs === "number") clockOffsetMs += advanceMs;
        else return badControl("offsetMs or advanceMs (number) is required");
        return Response.json({ offsetMs: clockOffsetMs, now: new Date(now()).toISOString() });
      }
    }
    return Response.json({ error: "not found" }, { status: 404 });
  }

  // --- routing ----------------------------------------------------------------------------

  async function route(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname.startsWith(basePath)
      ? url.pathname.slice(basePath.length) || "/"
      : url.pathname;
    if (path.startsWith("/__emulator/")) return await control(req, path, url.searchParams);
    const faultEndpoint: FaultEndpoint | undefined = path === TOKEN_PATH
      ? "token"
      : path === REVOKE_PATH
      ? "revoke"
      : path === EVENTS_PATH
      ? "events"
      : undefined;
    const expected = path === AUTH_PATH || path === DISCOVERY_PATH || path === CERTS_PATH ||
        path === EVENTS_PATH
      ? "GET"
      : "POST";
    const known = faultEndpoint !== undefined || path === AUTH_PATH || path === CONSENT_PATH ||
      path === DISCOVERY_PATH || path === CERTS_PATH;
    if (!known) return Response.json({ error: "not_found" }, { status: 404 });
    if (req.method !== expected) {
      return new Response(null, { status: 405, headers: { allow: expected } });
    }
    if (faultEndpoint !== undefined) {
      const faulty = await faults.play(faultEndpoint, req);
      if (faulty !== undefined) {
        stats.faultsServed[faultEndpoint] += 1;
        return faulty;
      }
    }
    switch (path) {
      case DISCOVERY_PATH:
        return discovery();
      case CERTS_PATH:
        return Response.json(jwks, { headers: { "cache-control": "public, max-age=3600" } });
      case AUTH_PATH:
        return authorize(url.searchParams);
      case CONSENT_PATH: {
        const form = await readForm(req);
        if (form === undefined) return errorPage("invalid_request", "Expected a form post.");
        return await consent(form);
      }
      case TOKEN_PATH:
        return await tokenEndpoint(req);
      case REVOKE_PATH:
        return await revokeEndpoint(req, url.searchParams);
      default:
        return eventsEndpoint(req, url.searchParams);
    }
  }

  const emulator: GoogleEmulator = {
    issuer,
    handler: route,
    fetch(input, init) {
      const request = input instanceof Request
        ? input
        : new Request(new URL(input, issuer + "/"), init);
      return route(request);
    },
    revokeAccount,
    addFault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    stats: () => ({ ...structuredClone(stats), faultsPending: faults.pending() }),
    resetStats() {
      stats = emptyStats();
    },
    accountTokens,
    configure,
    seedEvents,
    setClockOffset(offsetMs) {
      clockOffsetMs = offsetMs;
    },
    now,
    jwks: () => structuredClone(jwks),
    close: () => faults.close(),
  };
  return emulator;
}

// --- helpers ----------------------------------------------------------------------------

function emptyStats(): Omit<EmulatorStats, "faultsPending"> {
  const counts = () => ({ ok: 0, error: 0 });
  return {
    tokenGrants: { authorization_code: counts(), refresh_token: counts(), other: counts() },
    revocations: counts(),
    accountRevocations: 0,
    eventsCalls: counts(),
    faultsServed: { token: 0, revoke: 0, events: 0 },
  };
}

function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

function isPositiveNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}

async function readForm(req: Request): Promise<URLSearchParams | undefined> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/x-www-form-urlencoded")) return undefined;
  return new URLSearchParams(await req.text());
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function decodeBasic(encoded: string): { id: string; secret: string } | undefined {
  try {
    const decoded = atob(encoded);
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    const unescape = (part: string) => decodeURIComponent(part.replaceAll("+", " "));
    return { id: unescape(decoded.slice(0, colon)), secret: unescape(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

function noStoreJson(body: unknown, status: number): Response {
  return Response.json(body, {
    status,
    headers: { "cache-control": "no-store", pragma: "no-cache" },
  });
}

function oauthError(status: number, error: string, description: string): Response {
  return noStoreJson({ error, error_description: description }, status);
}

function invalidGrant(description: string): Response {
  return oauthError(400, "invalid_grant", description);
}

function errorPage(error: string, description: string): Response {
  return new Response(renderErrorPage(error, description), {
    status: 400,
    headers: { "content-type": "text/html; charset=utf-8" },
  });
}

function redirectWith(target: string, params: Record<string, string | undefined>): Response {
  const url = new URL(target);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.append(name, value);
  }
  return new Response(null, { status: 302, headers: { location: url.href } });
}

function badControl(message: string): Response {
  return Response.json({ error: message }, { status: 400 });
}

function unauthenticated(reason: "missing" | "invalid"): Response {
  const message = reason === "missing"
    ? "Request is missing required authentication credential. Expected OAuth 2 access token, " +
      "login cookie or other valid authentication credential."
    : "Request had invalid authentication credentials. Expected OAuth 2 access token, login " +
      "cookie or other valid authentication credential.";
  return Response.json({
    error: {
      code: 401,
      message,
      errors: [{
        message: reason === "missing" ? "Login Required." : "Invalid Credentials",
        domain: "global",
        reason: reason === "missing" ? "required" : "authError",
        location: "Authorization",
        locationType: "header",
      }],
      status: "UNAUTHENTICATED",
    },
  }, {
    status: 401,
    headers: {
      "www-authenticate": reason === "missing"
        ? 'Bearer realm="https://accounts.google.com/"'
        : 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
    },
  });
}

function insufficientScope(): Response {
  return Response.json({
    error: {
      code: 403,
      message: "Request had insufficient authentication scopes.",
      errors: [{
        message: "Insufficient Permission",
        domain: "global",
        reason: "insufficientPermissions",
      }],
      status: "PERMISSION_DENIED",
    },
  }, {
    status: 403,
    headers: {
      "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"',
    },
  });
}
