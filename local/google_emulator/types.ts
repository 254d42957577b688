/** Public types of the emulator: its options, its stats and what the test controls report. */

import type * as jose from "jose";
import type { FaultEndpoint, FaultSpec } from "./faults.ts";
import type { SeedEvent } from "./calendar.ts";

/** An OAuth client registered with the emulator. */
export interface GoogleClient {
  clientId: string;
  clientSecret: string;
  /** Exact redirect URIs; Google compares them character for character. */
  redirectUris: string[];
}

/** "url" → `iss` is the issuer URL; "bare" → the issuer without scheme, like `accounts.google.com`. */
export type IdTokenIssuerStyle = "url" | "bare";

/** Options of `createGoogleEmulator`. */
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
  /**
   * Let events.watch accept `http://` addresses on loopback (127.0.0.1, ::1, localhost). Google
   * takes only https; this exists for a local stack whose functions serve plain http.
   */
  allowHttpLoopbackPush?: boolean;
  /** Accounts whose calendar starts with the demo week (demo_calendar.ts); they join the chooser. */
  demoCalendars?: string[];
  /** First retry delay of a push message answered 500/502/503/504 (doubles per try). */
  pushRetryBaseMs?: number;
}

/** Settings that may change while the emulator runs. */
export interface EmulatorConfig {
  accessTokenTtlSeconds?: number;
  codeTtlSeconds?: number;
  idTokenIssuerStyle?: IdTokenIssuerStyle;
  /**
   * Most events one events.list page holds, whatever `maxResults` asks (Google: "the number of
   * events in the resulting page may be less than this value"). Default 2500, Google's ceiling.
   */
  eventsPageCap?: number;
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
  /** events.list calls (also counted in `calendarCalls`). */
  eventsCalls: OutcomeCounts;
  /** Calendar API calls by Google's method name, e.g. `calendar.v3.Events.Insert`. */
  calendarCalls: Record<string, OutcomeCounts>;
  /** Authorization pages that ended on a block page (never redirected). */
  blockedAuthorizations: number;
  /** Calls answered by an injected fault (not counted above). */
  faultsServed: Record<FaultEndpoint, number>;
  /** Faults still queued (a persistent fault counts as 1). */
  faultsPending: Record<FaultEndpoint, number>;
}

/** A live refresh token as the emulator issued it. */
export interface IssuedRefreshToken {
  token: string;
  clientId: string;
  scope: string;
  createdAt: string;
  /** Last successful refresh (or issuance). */
  lastUsedAt: string;
  /** When it stops working (Testing mode, time-limited grant), or null for no fixed end. */
  expiresAt: string | null;
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
  emailVerified: boolean;
  /** Live refresh tokens, oldest first. */
  refreshTokens: IssuedRefreshToken[];
  /** Non-revoked access tokens (expired or invalidated ones flagged as expired), oldest first. */
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
  /**
   * Runs a POST test control by name, e.g. `control("tokens/invalidate", { email })`: the same as
   * `POST /__emulator/<name>` with that JSON body. Throws a `ControlError` for a bad body.
   */
  control(name: string, body: Record<string, unknown>): Promise<unknown>;
  /** Releases hanging fault calls and their timers. */
  close(): void;
}
