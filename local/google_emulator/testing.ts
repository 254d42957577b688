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

/** Options of {@linkcode signIn}. */
export interface SignInOptions {
  email?: string;
  params?: Record<string, string | undefined>;
  uncheck?: string[];
  via?: AnswerConsentOptions["via"];
  headers?: Record<string, string>;
}

/** Consent (PKCE S256) then code exchange; the token answer, which must be a success. */
export async function signIn(
  emulator: GoogleEmulator,
  options: SignInOptions = {},
): Promise<TokenBody> {
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
  const { status, body } = await tokenCall(emulator, {
    grant_type: "authorization_code",
    code,
    redirect_uri: TEST_REDIRECT_URI,
    code_verifier: verifier,
    client_id: TEST_CLIENT.clientId,
    client_secret: TEST_CLIENT.clientSecret,
  });
  if (status !== 200) throw new Error(`code exchange answered ${status}: ${body.error}`);
  return body;
}

/** POST /token with the form fields. */
export async function tokenCall(
  emulator: GoogleEmulator,
  fields: Record<string, string>,
): Promise<{ status: number; body: TokenBody }> {
  const response = await emulator.fetch("/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: response.status, body: await response.json() as TokenBody };
}

/** A refresh_token grant by the first test client (or the given secret). */
export function refreshCall(
  emulator: GoogleEmulator,
  refreshToken: string,
  secret = TEST_CLIENT.clientSecret,
): Promise<{ status: number; body: TokenBody }> {
  return tokenCall(emulator, {
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    client_id: TEST_CLIENT.clientId,
    client_secret: secret,
  });
}

/** POST /revoke. */
export async function revokeCall(emulator: GoogleEmulator, token: string): Promise<number> {
  const response = await emulator.fetch("/revoke", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
  });
  await response.body?.cancel();
  return response.status;
}

/** events.list on the primary calendar with a bearer token. */
export async function eventsCall(
  emulator: GoogleEmulator,
  accessToken: string,
  query = "",
): Promise<{ status: number; headers: Headers; body: LooseJson }> {
  const response = await emulator.fetch(`/calendar/v3/calendars/primary/events${query}`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** POST /__emulator/<name> over HTTP; the status and JSON answer. */
export async function controlCall(
  emulator: GoogleEmulator,
  name: string,
  body: unknown,
): Promise<{ status: number; body: LooseJson }> {
  const response = await emulator.fetch(`/__emulator/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}
