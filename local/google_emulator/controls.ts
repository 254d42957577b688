/**
 * The test controls under `/__emulator/`: JSON routes that let tests and benchmarks steer the
 * emulator (faults, clock, accounts, grants, clients, block mode) and read what it issued.
 * They exist only here, never in production code. README.md documents each one.
 *
 * @module
 */

import { bulkEmail, bulkRefreshToken, isBulkBatchId } from "./bulk.ts";
import { CALENDAR_CONTROLS, calendarControlRoute } from "./calendar_controls.ts";
import { bad, type ControlBody, ControlError, emailOf, type PostControl } from "./control_utils.ts";
import { parseFaultSpec } from "./faults.ts";
import { isPositiveNumber, normaliseEmail, noStoreJson } from "./http.ts";
import { grantedScopes, isKnownScope, isSignInScope } from "./scopes.ts";
import {
  BLOCK_REASONS,
  type BlockReason,
  type ClientState,
  type EmulatorState,
  grantKey,
} from "./state.ts";
import type { EmulatorConfig, EmulatorStats } from "./types.ts";

/** Largest bulk batch: enough for the 100k benchmark tier with room to spare. */
export const MAX_BULK_COUNT = 1_000_000;
/** Bulk batches return their tokens inline only up to this size. */
export const MAX_INLINE_BULK_TOKENS = 10_000;

type Body = ControlBody;
export { ControlError };

function clientOf(state: EmulatorState, body: Body): ClientState {
  if (body.clientId === undefined) return state.defaultClient();
  if (typeof body.clientId !== "string") bad("clientId must be a string");
  return state.clients.get(body.clientId) ?? bad(`unknown client ${body.clientId}`);
}

function scopeList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.some((scope) => typeof scope !== "string")) {
    bad(`${name} must be an array of scope strings`);
  }
  return value as string[];
}

/** Applies a runtime configuration change (shared by the route and `emulator.configure`). */
export function configure(state: EmulatorState, update: EmulatorConfig): void {
  if (update.accessTokenTtlSeconds !== undefined) {
    state.config.accessTokenTtlSeconds = update.accessTokenTtlSeconds;
  }
  if (update.codeTtlSeconds !== undefined) state.config.codeTtlSeconds = update.codeTtlSeconds;
  if (update.idTokenIssuerStyle !== undefined) {
    state.config.idTokenIssuerStyle = update.idTokenIssuerStyle;
  }
  if (update.eventsPageCap !== undefined) state.config.eventsPageCap = update.eventsPageCap;
}

/** The stats view: counters plus pending faults. */
export function statsOf(state: EmulatorState): EmulatorStats {
  return { ...structuredClone(state.stats), faultsPending: state.faults.pending() };
}

/** POST controls by name (the path after `/__emulator/`). */
export const POST_CONTROLS: Readonly<Record<string, PostControl>> = {
  ...CALENDAR_CONTROLS,

  "reset-stats"(state) {
    state.resetStats();
    return {};
  },

  "accounts/revoke"(state, body) {
    state.revokeAccount(emailOf(body));
    return {};
  },

  async accounts(state, body) {
    const account = await state.ensureAccount(emailOf(body));
    if (body.emailVerified !== undefined) {
      if (typeof body.emailVerified !== "boolean") bad("emailVerified must be a boolean");
      account.emailVerified = body.emailVerified;
    }
    return { ...account };
  },

  faults(state, body) {
    const spec = parseFaultSpec(body);
    if (typeof spec === "string") bad(spec);
    state.faults.add(spec);
    return { pending: state.faults.pending() };
  },

  config(state, body) {
    const { accessTokenTtlSeconds, codeTtlSeconds, idTokenIssuerStyle, eventsPageCap } = body;
    const update: EmulatorConfig = {};
    if (accessTokenTtlSeconds !== undefined) {
      if (!isPositiveNumber(accessTokenTtlSeconds)) bad("bad ttl");
      update.accessTokenTtlSeconds = accessTokenTtlSeconds;
    }
    if (codeTtlSeconds !== undefined) {
      if (!isPositiveNumber(codeTtlSeconds)) bad("bad ttl");
      update.codeTtlSeconds = codeTtlSeconds;
    }
    if (idTokenIssuerStyle !== undefined) {
      if (idTokenIssuerStyle !== "url" && idTokenIssuerStyle !== "bare") {
        bad('idTokenIssuerStyle must be "url" or "bare"');
      }
      update.idTokenIssuerStyle = idTokenIssuerStyle;
    }
    if (eventsPageCap !== undefined) {
      if (!Number.isInteger(eventsPageCap) || !isPositiveNumber(eventsPageCap)) {
        bad("eventsPageCap must be a positive integer");
      }
      update.eventsPageCap = eventsPageCap;
    }
    configure(state, update);
    return { ...state.config };
  },

  clock(state, body) {
    const { offsetMs, advanceMs } = body;
    if (typeof offsetMs === "number") state.clockOffsetMs = offsetMs;
    else if (typeof advanceMs === "number") state.clockOffsetMs += advanceMs;
    else bad("offsetMs or advanceMs (number) is required");
    return { offsetMs: state.clockOffsetMs, now: new Date(state.now()).toISOString() };
  },

  /** One access token dies on its own (password change, security event); its grant lives on. */
  "tokens/invalidate"(state, body) {
    let invalidated = 0;
    if (typeof body.accessToken === "string") {
      const record = state.accessTokens.get(body.accessToken);
      if (record === undefined) bad("unknown access token");
      record.invalidated = true;
      return { invalidated: 1 };
    }
    const email = emailOf(body);
    for (const record of state.accessTokens.values()) {
      if (record.email === email && !record.invalidated) {
        record.invalidated = true;
        invalidated += 1;
      }
    }
    return { invalidated };
  },

  /** A refresh token reaches its end now: the next refresh answers invalid_grant. */
  async "tokens/expire"(state, body) {
    const now = state.now();
    if (typeof body.refreshToken === "string") {
      const record = await state.findRefresh(body.refreshToken);
      if (record === undefined) bad("unknown refresh token");
      record.expiresAt = now;
      return { expired: 1 };
    }
    const email = emailOf(body);
    const client = body.clientId === undefined ? undefined : clientOf(state, body);
    let expired = 0;
    for (const record of state.refreshTokens.values()) {
      if (record.email !== email || record.revoked) continue;
      if (client !== undefined && record.clientId !== client.clientId) continue;
      record.expiresAt = now;
      expired += 1;
    }
    return { expired };
  },

  /** The person unticks scopes of an existing grant (or an admin removes them). */
  "grants/narrow"(state, body) {
    const email = emailOf(body);
    const client = clientOf(state, body);
    const remove = body.remove === undefined ? undefined : scopeList(body.remove, "remove");
    const keep = body.scopes === undefined ? undefined : scopeList(body.scopes, "scopes");
    if ((remove === undefined) === (keep === undefined)) bad("give remove or scopes");
    // Sign-in scopes stay: they are always granted.
    const narrow = (scopes: Iterable<string>) =>
      grantedScopes(
        [...scopes].filter((scope) =>
          isSignInScope(scope) ||
          (remove !== undefined ? !remove.includes(scope) : (keep ?? []).includes(scope))
        ),
      );
    const tokens = state.liveRefreshTokens(email, client.clientId);
    let scope: string[] = [];
    for (const token of tokens) {
      const record = state.refreshTokens.get(token);
      if (record === undefined) continue;
      record.scopes = narrow(record.scopes);
      scope = record.scopes;
    }
    const key = grantKey(email, client.clientId);
    const remembered = state.grants.get(key);
    if (remembered !== undefined) state.grants.set(key, new Set(narrow(remembered)));
    return { refreshTokens: tokens.length, scope: scope.join(" ") };
  },

  /** Ends one account's grant to one client, as revoking at Google does. */
  "grants/end"(state, body) {
    state.endGrant(emailOf(body), clientOf(state, body).clientId);
    return {};
  },

  /** Many synthetic grants whose refresh tokens derive from (batch, index); see bulk.ts. */
  "grants/bulk"(state, body) {
    const { count, batch, scopes, lifetimeSeconds, lastUsedAgoMs, includeTokens } = body;
    if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > MAX_BULK_COUNT) {
      bad(`count must be an integer in 1..${MAX_BULK_COUNT}`);
    }
    const total = count as number;
    const id = batch === undefined ? crypto.randomUUID().replaceAll("-", "").slice(0, 12) : batch;
    if (typeof id !== "string" || !isBulkBatchId(id)) bad("batch must be 1-32 of [a-z0-9]");
    if (state.bulkBatches.has(id)) bad(`batch ${id} exists`);
    const client = clientOf(state, body);
    // No openid by default: an ID token on every refresh would make RS256 signing, not the
    // code under test, the bottleneck of a keep-alive benchmark (~450 vs ~11k refreshes/s).
    const granted = scopes === undefined
      ? ["email", "https://www.googleapis.com/auth/calendar.events"]
      : scopeList(scopes, "scopes");
    const unknown = granted.find((scope) => !isKnownScope(scope));
    if (unknown !== undefined) bad(`unknown scope ${unknown}`);
    if (lifetimeSeconds !== undefined && !isPositiveNumber(lifetimeSeconds)) {
      bad("lifetimeSeconds must be a positive number");
    }
    if (lastUsedAgoMs !== undefined && (typeof lastUsedAgoMs !== "number" || lastUsedAgoMs < 0)) {
      bad("lastUsedAgoMs must be a number >= 0");
    }
    const inline = includeTokens ?? total <= MAX_INLINE_BULK_TOKENS;
    if (typeof inline !== "boolean") bad("includeTokens must be a boolean");
    if (inline && total > MAX_INLINE_BULK_TOKENS) {
      bad(`includeTokens is limited to ${MAX_INLINE_BULK_TOKENS}; derive larger batches`);
    }
    const now = state.now();
    state.bulkBatches.set(id, {
      id,
      count: total,
      clientId: client.clientId,
      scopes: grantedScopes(granted),
      createdAt: now,
      expiresAt: lifetimeSeconds === undefined ? undefined : now + lifetimeSeconds * 1000,
      lastUsedAt: now - ((lastUsedAgoMs as number | undefined) ?? 0),
    });
    const answer: Record<string, unknown> = {
      batch: id,
      count: total,
      clientId: client.clientId,
      scope: grantedScopes(granted).join(" "),
      refreshTokenFormat: bulkRefreshToken(id, 0).replace(/0$/, "{index}"),
      emailFormat: bulkEmail(id, 0).replace("0@", "{index}@"),
    };
    if (inline) {
      answer.grants = Array.from({ length: total }, (_, index) => ({
        email: bulkEmail(id, index),
        refreshToken: bulkRefreshToken(id, index),
      }));
    }
    return answer;
  },

  /** Deleted in the console: `deleted_client` (or, once purged, `invalid_client`). */
  "clients/delete"(state, body) {
    const client = clientOf(state, body);
    if (body.purged !== undefined && typeof body.purged !== "boolean") {
      bad("purged must be a boolean");
    }
    client.deletion = body.purged === true ? "purged" : "deleted";
    return { clientId: client.clientId, deletion: client.deletion };
  },

  "clients/restore"(state, body) {
    const client = clientOf(state, body);
    client.deletion = undefined;
    return { clientId: client.clientId };
  },

  /** Rotates the client secret; `keepOld` leaves the old one enabled as well. */
  "clients/secret"(state, body) {
    const client = clientOf(state, body);
    if (typeof body.secret !== "string" || body.secret === "") bad("secret is required");
    if (body.keepOld !== undefined && typeof body.keepOld !== "boolean") {
      bad("keepOld must be a boolean");
    }
    client.secrets = body.keepOld === true ? [...client.secrets, body.secret] : [body.secret];
    return { clientId: client.clientId, secrets: client.secrets.length };
  },

  /** The consent screen's publishing status, and in Testing who the test users are. */
  "clients/publishing"(state, body) {
    const client = clientOf(state, body);
    if (body.status !== "testing" && body.status !== "production") {
      bad('status must be "testing" or "production"');
    }
    client.publishing = body.status;
    client.testUsers = body.testUsers === undefined ? undefined : new Set(
      scopeList(body.testUsers, "testUsers").map(normaliseEmail),
    );
    return { clientId: client.clientId, status: client.publishing };
  },

  /** New grants are time-limited to `seconds` (null turns it off). */
  "clients/grant-lifetime"(state, body) {
    const client = clientOf(state, body);
    if (body.seconds !== null && !isPositiveNumber(body.seconds)) {
      bad("seconds must be a positive number or null");
    }
    client.timeLimitSeconds = body.seconds ?? undefined;
    return { clientId: client.clientId, seconds: client.timeLimitSeconds ?? null };
  },

  /** Block mode: matching authorizations end on Google's error page and never redirect. */
  block(state, body) {
    if (!BLOCK_REASONS.includes(body.reason as BlockReason)) {
      bad(`reason must be one of ${BLOCK_REASONS.join(", ")}`);
    }
    const email = body.email === undefined ? undefined : emailOf(body);
    const client = body.clientId === undefined ? undefined : clientOf(state, body);
    const { userAgentContains } = body;
    if (userAgentContains !== undefined && typeof userAgentContains !== "string") {
      bad("userAgentContains must be a string");
    }
    state.blocks.push({
      reason: body.reason as BlockReason,
      email,
      clientId: client?.clientId,
      userAgentContains,
    });
    return { blocks: state.blocks.length };
  },
};

/** Answers a request under `/__emulator/`. */
export async function controlEndpoint(
  state: EmulatorState,
  req: Request,
  path: string,
  query: URLSearchParams,
): Promise<Response> {
  const route = `${req.method} ${path}`;
  switch (route) {
    case "GET /__emulator/stats":
      return Response.json(statsOf(state));
    case "GET /__emulator/accounts/tokens": {
      const tokens = state.accountTokens(query.get("email") ?? "");
      return tokens === undefined
        ? Response.json({ error: "unknown account" }, { status: 404 })
        : noStoreJson(tokens, 200);
    }
    case "DELETE /__emulator/faults":
      state.faults.clear();
      return Response.json({});
    case "DELETE /__emulator/block":
      state.blocks = [];
      return Response.json({});
  }
  const calendarAnswer = calendarControlRoute(state, route, query);
  if (calendarAnswer !== undefined) return calendarAnswer;
  const name = path.slice("/__emulator/".length);
  const control = Object.hasOwn(POST_CONTROLS, name) ? POST_CONTROLS[name] : undefined;
  if (req.method !== "POST" || control === undefined) {
    return Response.json({ error: "not found" }, { status: 404 });
  }
  const body = await req.json().catch(() => undefined);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return Response.json({ error: "body must be a JSON object" }, { status: 400 });
  }
  try {
    const answer = await control(state, body as Body);
    return answer instanceof Response ? answer : Response.json(answer);
  } catch (error) {
    if (error instanceof ControlError) {
      return Response.json({ error: error.message }, { status: 400 });
    }
    throw error;
  }
}
