/**
 * The one shared state of an emulator: clients, accounts, pending consents, codes, tokens,
 * remembered grants, calendars, faults, test-control settings and counters. Endpoint modules
 * read and change it; only this module knows how tokens relate to each other.
 *
 * @module
 */

import * as jose from "jose";
import { type BulkBatch, bulkEmail, parseBulkRefreshToken } from "./bulk.ts";
import { CalendarStore } from "./calendar_store.ts";
import { PushHub } from "./push_channels.ts";
import { deriveSub, randomToken } from "./crypto_utils.ts";
import { FaultInjector } from "./faults.ts";
import { normaliseEmail } from "./http.ts";
import type {
  AccessRecord,
  Account,
  AuthCode,
  BlockRule,
  CalendarNotice,
  ClientState,
  Lineage,
  PendingConsent,
  RefreshRecord,
} from "./state_records.ts";
import { accountTokens, type Counters, emptyStats } from "./state_reports.ts";
import type { AccountTokens, EmulatorConfig, GoogleEmulatorOptions } from "./types.ts";

// The records have their own module; their names stay importable from here.
export {
  type AccessRecord,
  type Account,
  type AuthCode,
  BLOCK_REASONS,
  type BlockReason,
  type BlockRule,
  type CalendarNotice,
  type ClientDeletion,
  type ClientState,
  type Lineage,
  type PendingConsent,
  type RefreshRecord,
} from "./state_records.ts";

/** How many live refresh tokens Google keeps per account and client. */
export const MAX_REFRESH_TOKENS_PER_CLIENT = 100;

/** The emulator's state; create with {@linkcode EmulatorState.create}. */
export class EmulatorState {
  /** Base URL of every endpoint, without a trailing slash. */
  readonly issuer: string;
  /** The issuer's path, stripped from request paths. */
  readonly basePath: string;
  readonly config: Required<EmulatorConfig>;
  readonly clients = new Map<string, ClientState>();
  readonly accounts = new Map<string, Account>();
  readonly consents = new Map<string, PendingConsent>();
  readonly codes = new Map<string, AuthCode>();
  readonly refreshTokens = new Map<string, RefreshRecord>();
  readonly accessTokens = new Map<string, AccessRecord>();
  /** Scopes each account granted each client, for include_granted_scopes. */
  readonly grants = new Map<string, Set<string>>();
  readonly calendars: CalendarStore;
  /** events.watch channels and their deliveries. */
  readonly push: PushHub;
  /** Who would have been emailed for each write with `sendUpdates` (newest last, capped). */
  readonly calendarNotices: CalendarNotice[] = [];
  readonly faults = new FaultInjector();
  readonly bulkBatches = new Map<string, BulkBatch>();
  blocks: BlockRule[] = [];
  stats: Counters = emptyStats();
  clockOffsetMs = 0;
  readonly signingKey: CryptoKey;
  readonly kid: string;
  readonly jwks: jose.JSONWebKeySet;
  readonly #baseClock: () => number;
  /** Live refresh tokens per account and client, oldest first. */
  readonly #refreshByGrant = new Map<string, Set<string>>();

  private constructor(
    options: GoogleEmulatorOptions,
    signing: { key: CryptoKey; kid: string; jwks: jose.JSONWebKeySet },
  ) {
    this.issuer = options.issuer.replace(/\/+$/, "");
    this.basePath = new URL(this.issuer).pathname.replace(/\/+$/, "");
    this.config = {
      accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3599,
      codeTtlSeconds: options.codeTtlSeconds ?? 600,
      idTokenIssuerStyle: options.idTokenIssuerStyle ?? "url",
      eventsPageCap: 2500,
    };
    this.#baseClock = options.now ?? Date.now;
    this.calendars = new CalendarStore(() => this.now());
    this.push = new PushHub(this.calendars, {
      now: () => this.now(),
      issuer: this.issuer,
      allowHttpLoopback: options.allowHttpLoopbackPush ?? false,
      ...(options.pushRetryBaseMs === undefined ? {} : { retryBaseMs: options.pushRetryBaseMs }),
    });
    this.signingKey = signing.key;
    this.kid = signing.kid;
    this.jwks = signing.jwks;
    for (const client of options.clients) {
      this.clients.set(client.clientId, {
        clientId: client.clientId,
        redirectUris: [...client.redirectUris],
        secrets: [client.clientSecret],
        deletion: undefined,
        publishing: "production",
        testUsers: undefined,
        timeLimitSeconds: undefined,
      });
    }
  }

  /** Builds the state with a fresh RS256 signing key and the initial accounts. */
  static async create(options: GoogleEmulatorOptions): Promise<EmulatorState> {
    const { privateKey, publicKey } = await jose.generateKeyPair("RS256");
    const publicJwk = await jose.exportJWK(publicKey);
    const kid = await jose.calculateJwkThumbprint(publicJwk);
    const jwks: jose.JSONWebKeySet = { keys: [{ ...publicJwk, kid, alg: "RS256", use: "sig" }] };
    const state = new EmulatorState(options, { key: privateKey as CryptoKey, kid, jwks });
    for (const email of options.accounts ?? []) await state.ensureAccount(email);
    return state;
  }

  /** The emulator's clock in ms: the injected or real clock plus the test offset. */
  now(): number {
    return this.#baseClock() + this.clockOffsetMs;
  }

  /** The public URL of an endpoint path. */
  publicUrl(path: string): string {
    return this.issuer + path;
  }

  /** The account for an email, created (and shown in the chooser) on first sight. */
  async ensureAccount(rawEmail: string): Promise<Account> {
    const email = normaliseEmail(rawEmail);
    const known = this.accounts.get(email);
    if (known !== undefined) return known;
    const account = { email, sub: await deriveSub(email), emailVerified: true };
    this.accounts.set(email, account);
    return account;
  }

  /** The only client, or the first one: the default of the client controls. */
  defaultClient(): ClientState {
    return this.clients.values().next().value as ClientState;
  }

  // --- revocation -------------------------------------------------------------------------

  /** Revokes one refresh token and the access tokens minted from it. */
  revokeRefresh(token: string): void {
    const record = this.refreshTokens.get(token);
    if (record === undefined) return;
    record.revoked = true;
    this.#refreshByGrant.get(grantKey(record.email, record.clientId))?.delete(token);
    for (const access of this.accessTokens.values()) {
      if (access.refreshToken === token) access.revoked = true;
    }
  }

  /** RFC 6749 §4.1.2: a replayed code takes down what it minted. */
  revokeCodeLineage(code: string): void {
    for (const [token, record] of this.refreshTokens) {
      if (record.code === code) this.revokeRefresh(token);
    }
    for (const access of this.accessTokens.values()) {
      if (access.code === code) access.revoked = true;
    }
  }

  /**
   * Ends the app's grant for one account: every refresh and access token of that account and
   * client, its pending codes, and the scopes remembered for include_granted_scopes.
   */
  endGrant(rawEmail: string, clientId: string): void {
    const email = normaliseEmail(rawEmail);
    const key = grantKey(email, clientId);
    for (const token of [...(this.#refreshByGrant.get(key) ?? [])]) this.revokeRefresh(token);
    for (const access of this.accessTokens.values()) {
      if (access.email === email && access.clientId === clientId) access.revoked = true;
    }
    for (const [code, record] of this.codes) {
      if (record.email === email && record.clientId === clientId) this.codes.delete(code);
    }
    this.grants.delete(key);
  }

  /** The person removed access for every app: all tokens, codes and grants of the account. */
  revokeAccount(rawEmail: string): void {
    const email = normaliseEmail(rawEmail);
    for (const clientId of this.clients.keys()) this.endGrant(email, clientId);
    // Tokens of clients since removed from the map still die.
    for (const [token, record] of this.refreshTokens) {
      if (record.email === email) this.revokeRefresh(token);
    }
    for (const record of this.accessTokens.values()) {
      if (record.email === email) record.revoked = true;
    }
    this.stats.accountRevocations += 1;
  }

  /** Live refresh tokens of an account for a client, oldest first. */
  liveRefreshTokens(rawEmail: string, clientId: string): string[] {
    return [...(this.#refreshByGrant.get(grantKey(normaliseEmail(rawEmail), clientId)) ?? [])];
  }

  /**
   * The record of a refresh token, revoked ones included. Bulk tokens become records on first
   * use, so an unused batch costs no memory per grant.
   */
  async findRefresh(token: string): Promise<RefreshRecord | undefined> {
    const known = this.refreshTokens.get(token);
    if (known !== undefined) return known;
    const bulk = parseBulkRefreshToken(token);
    const batch = bulk === undefined ? undefined : this.bulkBatches.get(bulk.batchId);
    if (bulk === undefined || batch === undefined || bulk.index >= batch.count) return undefined;
    const account = await this.ensureAccount(bulkEmail(batch.id, bulk.index));
    const record: RefreshRecord = {
      email: account.email,
      clientId: batch.clientId,
      // Shared with the batch: scope arrays are replaced, never changed in place.
      scopes: batch.scopes,
      createdAt: batch.createdAt,
      lastUsedAt: batch.lastUsedAt,
      expiresAt: batch.expiresAt,
      code: undefined,
      revoked: false,
    };
    this.#storeRefresh(token, record);
    return record;
  }

  // --- issuing ----------------------------------------------------------------------------

  /** Issues a refresh token; Google silently drops the oldest beyond 100 per account+client. */
  issueRefreshToken(lineage: Lineage, code: string, expiresAt: number | undefined): string {
    const token = randomToken("1//", 64);
    const now = this.now();
    this.#storeRefresh(token, {
      ...lineage,
      createdAt: now,
      lastUsedAt: now,
      expiresAt,
      code,
      revoked: false,
    });
    const live = this.liveRefreshTokens(lineage.email, lineage.clientId);
    while (live.length > MAX_REFRESH_TOKENS_PER_CLIENT) this.revokeRefresh(live.shift() as string);
    return token;
  }

  #storeRefresh(token: string, record: RefreshRecord): void {
    this.refreshTokens.set(token, record);
    const key = grantKey(record.email, record.clientId);
    const live = this.#refreshByGrant.get(key) ?? new Set();
    live.add(token);
    this.#refreshByGrant.set(key, live);
  }

  /** Issues an access token for the lineage, valid for the configured lifetime. */
  issueAccessToken(
    lineage: Lineage,
    from: { refreshToken: string | undefined; code: string | undefined },
  ): { token: string; record: AccessRecord } {
    const token = randomToken("ya29.", 96);
    const issuedAt = this.now();
    const record: AccessRecord = {
      ...lineage,
      issuedAt,
      expiresAt: issuedAt + this.config.accessTokenTtlSeconds * 1000,
      refreshToken: from.refreshToken,
      code: from.code,
      revoked: false,
      invalidated: false,
    };
    this.accessTokens.set(token, record);
    return { token, record };
  }

  /** True while an access token may call the Calendar. */
  accessTokenWorks(record: AccessRecord | undefined): record is AccessRecord {
    return record !== undefined && !record.revoked && !record.invalidated &&
      record.expiresAt > this.now();
  }

  // --- reports ----------------------------------------------------------------------------

  /** What the emulator issued to an account, or undefined for an account never seen. */
  accountTokens(rawEmail: string): AccountTokens | undefined {
    return accountTokens(this, rawEmail);
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.stats = emptyStats();
  }
}

/** The key of one account's grant to one client. */
export function grantKey(email: string, clientId: string): string {
  return `${email}\n${clientId}`;
}
