/**
 * Helpers for tests of the emulator itself: an in-memory emulator on a settable clock, a full
 * consent → code → token sign-in, and thin wrappers over the token, revoke, events and control
 * endpoints. Everything goes through `emulator.fetch`, so no port is opened.
 *
 * @module
 */

import * as oauth from "oauth4webapi";
import { answerConsent, type AnswerConsentOptions } from "./consent_client.ts";
import { createGoogleEmulator } from "./emulator.ts";
import type { GoogleClient, GoogleEmulator, GoogleEmulatorOptions } from "./types.ts";

/** The issuer of test emulators. */
export const TEST_ISSUER = "http://127.0.0.1:54340";
/** The redirect URI registered for the test clients. */
export const TEST_REDIRECT_URI = "http://127.0.0.1:3000/callback";
/** `calendar.events`, the scope the project asks for. */
export const CALENDAR_EVENTS = "https://www.googleapis.com/auth/calendar.events";
/** The first test client (the default of the client controls). */
export const TEST_CLIENT: GoogleClient = {
  clientId: "client-1.apps.googleusercontent.com",
  clientSecret: "secret-1",
  redirectUris: [TEST_REDIRECT_URI],
};
/** A second client, for cross-client checks. */
export const OTHER_TEST_CLIENT: GoogleClient = {
  clientId: "client-2.apps.googleusercontent.com",
  clientSecret: "secret-2",
  redirectUris: [TEST_REDIRECT_URI],
};
/** The default account. */
export const TEST_EMAIL = "ada@example.com";

/** A JSON answer read loosely, as tests do. */
// deno-lint-ignore no-explicit-any
export type LooseJson = Record<string, any>;

/** A token endpoint answer, success or error. */
export interface TokenBody {
  access_token?: string;
  expires_in?: number;
  refresh_token?: string;
  refresh_token_expires_in?: number;
  scope?: string;
  token_type?: string;
  id_token?: string;
  error?: string;
  error_description?: string;
}

/** Where the clock of {@linkcode testEmulator} starts: 2026-01-05T09:00Z. */
export const TEST_START = Date.parse("2026-01-05T09:00:00Z");

/** An emulator on a clock the test moves. */
export interface TestEmulator {
  emulator: GoogleEmulator;
  /** Moves the injected clock forward. */
  advance(ms: number): void;
}

/** An emulator with both test clients, on a clock starting at {@linkcode TEST_START}. */
export async function testEmulator(
  overrides: Partial<GoogleEmulatorOptions> = {},
): Promise<TestEmulator> {
  let clock = TEST_START;
  const emulator = await createGoogleEmulator({
    issuer: TEST_ISSUER,
    clients: [TEST_CLIENT, OTHER_TEST_CLIENT],
    now: () => clock,
    ...overrides,
  });
  return {
    emulator,
    advance(ms) {
      clock += ms;
    },
  };
}

/** The authorization URL of the first test client, with `params` overriding the defaults. */
export function testAuthUrl(params: Record<string, string | undefined> = {}): string {
  const url = new URL(`${TEST_ISSUER}/o/oauth2/v2/auth`);
  const all: Record<string, string | undefined> = {
    client_id: TEST_CLIENT.clientId,
    redirect_uri: TEST_REDIRECT_URI,
    response_type: "code",
    scope: `openid email ${CALENDAR_EVENTS}`,
    state: "state-123",
    access_type: "offline",
    ...params,
  };
  for (const [name, value] of Object.entries(all)) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  return url.href;
}

/** Options of {@linkcode authorizeCode} and {@linkcode signIn}. */
export interface SignInOptions {
  email?: string;
  params?: Record<string, string | undefined>;
  uncheck?: string[];
  via?: AnswerConsentOptions["via"];
  headers?: Record<string, string>;
}

/** A code from the consent page, with the PKCE verifier that redeems it. */
export interface Authorized {
  code: string;
  verifier: string;
  redirect: URL;
}

/** Consent (PKCE S256) as `options.email`; the code, which must be there. */
export async function authorizeCode(
  emulator: GoogleEmulator,
  options: SignInOptions = {},
): Promise<Authorized> {
  const verifier = oauth.generateRandomCodeVerifier();
  const challenge = await oauth.calculatePKCECodeChallenge(verifier);
  const consentOptions: AnswerConsentOptions = {
    email: options.email ?? TEST_EMAIL,
    uncheck: options.uncheck ?? [],
    fetch: (input, init) => {
      const request = new Request(new URL(String(input), TEST_ISSUER + "/"), init);
      for (const [name, value] of Object.entries(options.headers ?? {})) {
        request.headers.set(name, value);
      }
      return emulator.fetch(request);
    },
  };
  if (options.via !== undefined) consentOptions.via = options.via;
  const redirect = await answerConsent(
    testAuthUrl({ code_challenge: challenge, code_challenge_method: "S256", ...options.params }),
    consentOptions,
  );
  const code = redirect.searchParams.get("code");
  if (code === null) {
    throw new Error(`no code in the redirect: ${redirect.searchParams.get("error")}`);
  }
  return { code, verifier, redirect };
}

/** Redeems the code as the first test client; `extra` overrides form fields. */
export function exchange(
  emulator: GoogleEmulator,
  authorized: Authorized,
  extra: Record<string, string> = {},
): Promise<TokenCallResult> {
  return tokenCall(emulator, {
    grant_type: "authorization_code",
    code: authorized.code,
    redirect_uri: TEST_REDIRECT_URI,
    code_verifier: authorized.verifier,
    client_id: TEST_CLIENT.clientId,
    client_secret: TEST_CLIENT.clientSecret,
    ...extra,
  });
}

/** Consent then code exchange; the token answer, which must be a success. */
export async function signIn(
  emulator: GoogleEmulator,
  options: SignInOptions = {},
): Promise<TokenBody> {
  const { status, body } = await exchange(emulator, await authorizeCode(emulator, options));
  if (status !== 200) throw new Error(`code exchange answered ${status}: ${body.error}`);
  return body;
}

/** What {@linkcode tokenCall} returns. */
export interface TokenCallResult {
  status: number;
  body: TokenBody;
  /** The response, its body already read. */
  response: Response;
}

/** POST /token with the form fields and extra headers. */
export async function tokenCall(
  emulator: GoogleEmulator,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<TokenCallResult> {
  const response = await emulator.fetch("/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  const body = await response.clone().json() as TokenBody;
  return { status: response.status, body, response };
}

/** A refresh_token grant by `client` (default the first test client). */
export function refreshCall(
  emulator: GoogleEmulator,
  refreshToken: string,
  client: Pick<GoogleClient, "clientId" | "clientSecret"> = TEST_CLIENT,
): Promise<TokenCallResult> {
  return tokenCall(emulator, {
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    client_id: client.clientId,
    client_secret: client.clientSecret,
  });
}

/** POST /revoke; the status and JSON answer. */
export async function revokeCall(
  emulator: GoogleEmulator,
  token: string,
): Promise<{ status: number; body: LooseJson }> {
  const response = await emulator.fetch("/revoke", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
  });
  return { status: response.status, body: await response.json() };
}

/** events.list on the primary calendar, with a bearer token unless it is undefined. */
export async function eventsCall(
  emulator: GoogleEmulator,
  accessToken: string | undefined,
  query = "",
): Promise<{ status: number; headers: Headers; body: LooseJson }> {
  const headers: Record<string, string> = {};
  if (accessToken !== undefined) headers.authorization = `Bearer ${accessToken}`;
  const response = await emulator.fetch(`/calendar/v3/calendars/primary/events${query}`, {
    headers,
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** A raw `/__emulator/<path>` call: GET without a body, POST with one. */
export function controlRequest(
  emulator: GoogleEmulator,
  path: string,
  body?: unknown,
): Promise<Response> {
  return emulator.fetch(`/__emulator/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
}

/** POST /__emulator/<name> over HTTP; the status and JSON answer. */
export async function controlCall(
  emulator: GoogleEmulator,
  name: string,
  body: unknown,
): Promise<{ status: number; body: LooseJson }> {
  const response = await controlRequest(emulator, name, body);
  return { status: response.status, body: await response.json() };
}
