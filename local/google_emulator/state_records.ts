/**
 * The records an emulator keeps: clients, accounts, pending consents, codes, tokens, block rules
 * and calendar notices. Plain data; EmulatorState (state.ts) relates them.
 *
 * @module
 */

import type { PublishingStatus } from "./lifetimes.ts";

/** An authorization request waiting for the person's answer on the consent page. */
export interface PendingConsent {
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

/** An issued authorization code. */
export interface AuthCode {
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

/** An issued refresh token. */
export interface RefreshRecord {
  email: string;
  clientId: string;
  scopes: string[];
  createdAt: number;
  lastUsedAt: number;
  /** Fixed end (Testing mode, time-limited grant), or undefined. */
  expiresAt: number | undefined;
  code: string | undefined;
  revoked: boolean;
}

/** An issued access token. */
export interface AccessRecord {
  email: string;
  clientId: string;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
  refreshToken: string | undefined;
  code: string | undefined;
  revoked: boolean;
  /** Killed on its own (password change, security event) while its grant lives on. */
  invalidated: boolean;
}

/** A Google account the emulator knows. */
export interface Account {
  email: string;
  sub: string;
  emailVerified: boolean;
}

/** How a client was removed in the Cloud console. */
export type ClientDeletion = "deleted" | "purged";

/** A registered OAuth client plus its console-side settings. */
export interface ClientState {
  clientId: string;
  redirectUris: string[];
  /** Every enabled secret; Google allows a second one while rotating. */
  secrets: string[];
  deletion: ClientDeletion | undefined;
  publishing: PublishingStatus;
  /** In Testing, the accounts allowed in; undefined lets every account in. */
  testUsers: Set<string> | undefined;
  /** Lifetime of time-limited grants the person picks, or undefined for ordinary grants. */
  timeLimitSeconds: number | undefined;
}

/** The error pages Google shows instead of redirecting. */
export const BLOCK_REASONS = [
  "disallowed_useragent",
  "access_denied",
  "org_internal",
  "admin_policy_enforced",
] as const;

/** One of {@linkcode BLOCK_REASONS}. */
export type BlockReason = typeof BLOCK_REASONS[number];

/** A block-mode rule: which authorizations end on an error page. */
export interface BlockRule {
  reason: BlockReason;
  /** Only this account (checked once the account is chosen); undefined for every account. */
  email: string | undefined;
  clientId: string | undefined;
  /** Only browsers whose User-Agent contains this text. */
  userAgentContains: string | undefined;
}

/** An update Google would have emailed (events written with `sendUpdates` all/externalOnly). */
export interface CalendarNotice {
  calendarId: string;
  eventId: string;
  method: string;
  recipients: string[];
}

/** Who a token was issued to and for what. */
export interface Lineage {
  email: string;
  clientId: string;
  scopes: string[];
}
