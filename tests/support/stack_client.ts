/**
 * Everything a test does against one running stack, bound to its StackInfo: SQL, users and their
 * tokens, calls through the gateway, consent at the emulator, the emulator's test controls, and
 * the stored rows. tests/support/stack.ts binds one to STACK_FILE's stack; the resilience suite
 * binds one to each private stack it starts.
 */

import assert from "node:assert/strict";
import type { FaultSpec } from "../../local/google_emulator/faults.ts";
import { importJWK, type JWK, SignJWT } from "jose";
import { answerConsent } from "../../local/google_emulator/consent_client.ts";
import { queryRows } from "../../local/stack/postgres.ts";
import type { StackInfo } from "../../local/stack/stack.ts";
import { type Config, loadConfig } from "../../supabase/functions/_google_calendar/config.ts";
import { decryptToken } from "../../supabase/functions/_google_calendar/token_crypto.ts";
import { type CallbackAnswer, followCallback } from "./callback.ts";

export type { CallbackAnswer };

export interface TestUser {
  id: string;
  email: string;
}

export interface EmulatorAccount {
  email: string;
  sub: string;
  refreshTokens: { token: string }[];
  accessTokens: { token: string }[];
  latestAccessToken: { token: string } | null;
}

export interface EmulatorStats {
  tokenGrants: Record<
    "authorization_code" | "refresh_token" | "other",
    { ok: number; error: number }
  >;
  faultsServed: Record<"token" | "revoke" | "events", number>;
  faultsPending: Record<"token" | "revoke" | "events", number>;
  /** Calendar API calls answered, every method. */
  eventsCalls: { ok: number; error: number };
}

export interface DecryptedRow {
  accessToken: string;
  refreshToken: string;
  ciphertexts: { access: string; refresh: string };
  googleSub: string | null;
  googleEmail: string | null;
  lastRefreshError: string | null;
  leaseId: string | null;
}

/** A Google account email nobody has used yet (so the emulator treats it as a first consent). */
export function googleEmail(prefix = "g"): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}@gmail.example`;
}

export class StackClient {
  readonly info: StackInfo;
  /** The private key that signs user tokens (the local stack's); absent elsewhere. */
  readonly userSigningJwk: JWK | undefined;

  constructor(info: StackInfo, userSigningJwk?: JWK) {
    this.info = info;
    this.userSigningJwk = userSigningJwk;
  }

  #config: Config | undefined;
  /** The configuration the stack's functions run with (to decrypt rows, sign states). */
  get config(): Config {
    this.#config ??= loadConfig(this.info.function_env);
    return this.#config;
  }

  get stackFile(): string {
    return `${this.info.stack_dir}/stack.json`;
  }

  /** Runs SQL as postgres through psql; one text line per row. */
  sql(query: string, vars: Record<string, string> = {}): Promise<string[]> {
    return queryRows(this.info.db_url, query, vars);
  }

  /** `n` fresh users in auth.users, in one statement. */
  async createUsers(n: number, prefix = "user"): Promise<TestUser[]> {
    const tag = crypto.randomUUID().slice(0, 8);
    const rows = await this.sql(
      `insert into auth.users (email)
         select :'prefix' || '-' || :'tag' || '-' || i || '@example.com'
         from generate_series(1, ${Math.floor(n)}) i
       returning id || ' ' || email`,
      { prefix, tag },
    );
    return rows.map((r) => {
      const [id, email] = r.split(" ");
      return { id: id!, email: email! };
    });
  }

  async createUser(prefix = "user"): Promise<TestUser> {
    return (await this.createUsers(1, prefix))[0]!;
  }

  /** A signed-in user's access token, as Supabase Auth issues it (ES256, role authenticated). */
  async userToken(
    userId: string,
    options: { ttlSeconds?: number; role?: string; issuer?: string; audience?: string } = {},
  ): Promise<string> {
    const jwk = this.userSigningJwk;
    if (!jwk) throw new Error("No user signing key: set USER_SIGNING_JWK for this stack");
    const now = Math.floor(Date.now() / 1000);
    return await new SignJWT({ role: options.role ?? "authenticated", aal: "aal1" })
      .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: jwk.kid! })
      .setIssuer(options.issuer ?? `${this.info.api_url}/auth/v1`)
      .setSubject(userId)
      .setAudience(options.audience ?? "authenticated")
      .setIssuedAt(now)
      .setExpirationTime(now + (options.ttlSeconds ?? 3600))
      .sign(await importJWK(jwk, "ES256"));
  }

  /** Calls a function through the gateway with the service credentials (as the bot does). */
  callAsService(
    name: string,
    init: { method?: string; body?: unknown; query?: Record<string, string> } = {},
  ): Promise<Response> {
    const url = new URL(`${this.info.functions_url}/${name}`);
    for (const [k, v] of Object.entries(init.query ?? {})) url.searchParams.append(k, v);
    return fetch(url, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: {
        authorization: `Bearer ${this.info.service_role_key}`,
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  }

  /** A function's JSON answer: status and body (`{ code }` for errors). */
  async callJson(
    name: string,
    init: { method?: string; body?: unknown; query?: Record<string, string> } = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await this.callAsService(name, init);
    const text = await res.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text);
    } catch {
      body = { unparsed: text.slice(0, 200) };
    }
    return { status: res.status, body };
  }

  /** The bot asks google-connect for `userId`'s consent URL; throws on anything but 200. */
  async connectUrl(userId: string, loginHint?: string): Promise<URL> {
    const { status, body } = await this.callJson("google-connect", {
      body: { user_id: userId, ...(loginHint ? { login_hint: loginHint } : {}) },
    });
    if (status !== 200) throw new Error(`google-connect answered ${status} ${body.code}`);
    return new URL(body.auth_url as string);
  }

  /** Answers consent at the emulator; returns the callback URL Google would redirect to. */
  consent(
    authUrl: URL,
    options: { email: string; action?: "allow" | "cancel"; uncheck?: string[] },
  ): Promise<URL> {
    return answerConsent(authUrl, options);
  }

  /** Follows the callback like a browser, without following the 303 to the result page. */
  callback(url: URL | string, init: RequestInit = {}): Promise<CallbackAnswer> {
    return followCallback(url, init);
  }

  /**
   * connect → consent → callback; the callback's answer. With push on, it returns once the
   * work the connect starts in the background (the channel, the first sync token) is over, so
   * that work's Google calls cannot take a fault a test queues next.
   */
  async connectFully(user: TestUser, google = `g-${user.email}`): Promise<CallbackAnswer> {
    const [since] = await this.sql("select now()");
    const answer = await this.callback(
      await this.consent(await this.connectUrl(user.id), { email: google }),
    );
    if (answer.result === "connected") await this.pushSettled(user.id, since!);
    return answer;
  }

  /**
   * Waits (10 s at most, then goes on) until `userId` has a channel opened since `since` and a
   * sync token, with no sync due or running. Nothing to wait for with push off.
   */
  async pushSettled(userId: string, since: string): Promise<void> {
    if (!this.config.push) return;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const [done] = await this.sql(
        `select 1 from public.google_calendar_channels c
           join public.google_calendar_sync_state s on s.user_id = c.user_id
         where c.user_id = :'u' and c.state = 'active' and c.created_at >= :'t'::timestamptz
           and s.sync_token is not null and s.requested_at is null
           and (s.lease_until is null or s.lease_until < now())`,
        { u: userId, t: since },
      );
      if (done) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /**
   * Waits (30 s at most, then goes on) until the pushes that calendar changes made since `since`
   * have been synced: a sync finished after `since`, none requested or running, and the
   * emulator's Calendar call count still for a second. Tests that count Google calls use it, so a
   * background sync cannot land in their count. Nothing to wait for with push off.
   */
  async calendarQuiet(userId: string, since: string): Promise<void> {
    if (!this.config.push) return;
    const deadline = Date.now() + 30_000;
    let last = -1;
    let stillSince = Date.now();
    while (Date.now() < deadline) {
      const [synced] = await this.sql(
        `select 1 from public.google_calendar_sync_state
         where user_id = :'u' and synced_at >= :'t'::timestamptz and requested_at is null
           and (lease_until is null or lease_until < now())`,
        { u: userId, t: since },
      );
      const { ok, error } = (await this.stats()).eventsCalls;
      if (ok + error !== last) [last, stillSince] = [ok + error, Date.now()];
      if (synced && Date.now() - stillSince >= 1000) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A new user connected (consent at the emulator) to `google`, a fresh account by default. */
  async connectedUser(
    prefix = "connected",
    google = googleEmail(prefix),
  ): Promise<{ user: TestUser; google: string }> {
    const user = await this.createUser(prefix);
    const answer = await this.connectFully(user, google);
    assert.deepEqual([answer.status, answer.result], [303, "connected"], `${prefix}: connected`);
    return { user, google };
  }

  /** google-status's answer for `userId`, called as the bot does; asserts it is a 200. */
  async googleStatus(userId: string): Promise<Record<string, unknown>> {
    const { status, body } = await this.callJson("google-status", { query: { user_id: userId } });
    assert.equal(status, 200, `google-status answered ${status} ${body.code}`);
    return body;
  }

  async emulatorControl(path: string, body: unknown = {}): Promise<unknown> {
    const res = await fetch(`${this.info.google_emulator_url}/__emulator/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`emulator ${path} answered ${res.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async emulatorGet(path: string): Promise<unknown> {
    const res = await fetch(`${this.info.google_emulator_url}/__emulator/${path}`);
    if (!res.ok) throw new Error(`emulator ${path} answered ${res.status}`);
    return await res.json();
  }

  /**
   * Queues `count` faults of `kind` at the emulator's `endpoint` (or every call while
   * `persistent`); see local/google_emulator/README.md for the kinds and their bodies.
   */
  async fault(
    endpoint: FaultSpec["endpoint"],
    kind: FaultSpec["kind"],
    options: Omit<FaultSpec, "endpoint" | "kind"> = {},
  ): Promise<void> {
    await this.emulatorControl("faults", { endpoint, kind, ...options });
  }

  async clearFaults(): Promise<void> {
    const res = await fetch(`${this.info.google_emulator_url}/__emulator/faults`, {
      method: "DELETE",
    });
    await res.body?.cancel();
  }

  async stats(): Promise<EmulatorStats> {
    return await this.emulatorGet("stats") as EmulatorStats;
  }

  /** google-disconnect's answer for `userId`, called as the bot does; asserts it is a 200. */
  async disconnect(userId: string): Promise<Record<string, unknown>> {
    const { status, body } = await this.callJson("google-disconnect", {
      body: { user_id: userId },
    });
    assert.equal(status, 200, `google-disconnect answered ${status} ${body.code}`);
    return body;
  }

  /** Refresh-token grants the emulator has answered so far: all, or only the ok ones. */
  async refreshGrants(which: "all" | "ok" = "all"): Promise<number> {
    const { ok, error } = (await this.stats()).tokenGrants.refresh_token;
    return which === "ok" ? ok : ok + error;
  }

  async account(email: string): Promise<EmulatorAccount> {
    return await this.emulatorGet(
      `accounts/tokens?email=${encodeURIComponent(email)}`,
    ) as EmulatorAccount;
  }

  /** The stored rows of `userIds` (all of them when omitted), as the database holds them. */
  async tokenRows(userIds?: string[]): Promise<Map<string, Record<string, unknown>>> {
    const where = userIds ? `where t.user_id = any (string_to_array(:'ids', ',')::uuid[])` : "";
    const [json] = await this.sql(
      `select coalesce(json_agg(row_to_json(t)), '[]') from public.google_calendar_tokens t ${where}`,
      userIds ? { ids: userIds.join(",") } : {},
    );
    const rows = JSON.parse(json ?? "[]") as Record<string, unknown>[];
    return new Map(rows.map((r) => [r.user_id as string, r]));
  }

  async tokenRow(userId: string): Promise<Record<string, unknown> | null> {
    return (await this.tokenRows([userId])).get(userId) ?? null;
  }

  /** Makes `userId`'s access token look expired, as an hour later would: its next use refreshes. */
  async expireAccessToken(userId: string): Promise<void> {
    await this.sql(
      `update public.google_calendar_tokens set token_expiry = now() - interval '1 minute'
        where user_id = :'id'`,
      { id: userId },
    );
  }

  /** A stored row with its tokens decrypted as the functions would (throws if they don't). */
  async decrypt(userId: string, row: Record<string, unknown>): Promise<DecryptedRow> {
    const access = row.access_token as string;
    const refresh = row.refresh_token as string;
    return {
      accessToken: await decryptToken(this.config.encryption, access, {
        userId,
        field: "access_token",
      }),
      refreshToken: await decryptToken(this.config.encryption, refresh, {
        userId,
        field: "refresh_token",
      }),
      ciphertexts: { access, refresh },
      googleSub: row.google_sub as string | null,
      googleEmail: row.google_email as string | null,
      lastRefreshError: row.last_refresh_error as string | null,
      leaseId: row.refresh_lease_id as string | null,
    };
  }

  async decryptedRow(userId: string): Promise<DecryptedRow | null> {
    const row = await this.tokenRow(userId);
    return row ? await this.decrypt(userId, row) : null;
  }

  async pendingFlowCount(userId?: string): Promise<number> {
    const [count] = userId
      ? await this.sql(
        "select count(*) from public.google_oauth_pending_flows where user_id = :'id'",
        { id: userId },
      )
      : await this.sql("select count(*) from public.google_oauth_pending_flows");
    return Number(count);
  }

  /** The PKCE verifier kept for a state's flow (null once the flow was used). */
  async verifierOf(jti: string): Promise<string | null> {
    const [verifier] = await this.sql(
      "select code_verifier from public.google_oauth_pending_flows where jti = :'jti'",
      { jti },
    );
    return verifier ?? null;
  }

  /**
   * A fingerprint of everything a request could change: the token rows, the pending flows and
   * auth.users. Equal fingerprints before and after a request mean it changed nothing.
   */
  async snapshot(): Promise<string> {
    const [md5] = await this.sql(`select md5(
      coalesce((select string_agg(t::text, '|' order by t.user_id)
                from public.google_calendar_tokens t), '') || '#' ||
      coalesce((select string_agg(f::text, '|' order by f.jti)
                from public.google_oauth_pending_flows f), '') || '#' ||
      coalesce((select string_agg(u::text, '|' order by u.id) from auth.users u), ''))`);
    return md5!;
  }

  /** Everything every function process of this stack has printed so far. */
  async functionLogs(): Promise<string> {
    let all = "";
    for (const { log_file } of Object.values(this.info.functions)) {
      all += await Deno.readTextFile(log_file).catch(() => "");
    }
    return all;
  }

  /** How far each function's log (of `names`, else all) has got: where "since now" starts. */
  async logMarks(names?: string[]): Promise<Map<string, number>> {
    const marks = new Map<string, number>();
    for (const [name, { log_file }] of Object.entries(this.info.functions)) {
      if (names && !names.includes(name)) continue;
      marks.set(log_file, (await Deno.readTextFile(log_file).catch(() => "")).length);
    }
    return marks;
  }

  /**
   * What the marked functions printed since `marks`, once it matches `pattern`: the stack copies
   * each process's output into its file on its own schedule. Throws after 5 s.
   */
  async logsMatching(marks: Map<string, number>, pattern: RegExp): Promise<string> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      let text = "";
      for (const [file, from] of marks) {
        text += (await Deno.readTextFile(file).catch(() => "")).slice(from);
      }
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`no log line matching ${pattern}:\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The stack's own secrets, which no function may ever print. */
  secrets(): Record<string, string> {
    const env = this.info.function_env;
    return {
      "client secret": env.GOOGLE_CLIENT_SECRET!,
      "service key": this.info.service_role_key,
      "anon key": this.info.anon_key,
      "state secret": env.OAUTH_STATE_SECRET!,
      "encryption key": env.TOKEN_ENCRYPTION_KEY!,
      "encryption key material": env.TOKEN_ENCRYPTION_KEY!.split(":")[1]!,
      "jwt secret": this.info.jwt_secret,
      ...(this.userSigningJwk?.d ? { "user signing key": this.userSigningJwk.d } : {}),
    };
  }
}
