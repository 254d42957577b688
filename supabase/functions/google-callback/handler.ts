/**
 * google-callback: where Google sends the person's browser back. Checks the signed state, takes
 * the pending flow exactly once, exchanges the code with its PKCE verifier, requires the calendar
 * scope and stores the tokens. The person is sent to the result page (Supabase shows a function's
 * HTML as plain text) or, without one, gets a short plain-text answer.
 */

import type { Config } from "../_google_calendar/config.ts";
import {
  AppError,
  describeForLog,
  type ErrorCode,
  toAppError,
} from "../_google_calendar/errors.ts";
import { hasCalendarScope } from "../_google_calendar/google_facts.ts";
import type { GoogleOAuth } from "../_google_calendar/google_oauth.ts";
import { SECURITY_HEADERS } from "../_google_calendar/http.ts";
import {
  importStateKey,
  stateBelongsTo,
  type StateKey,
  verifyState,
} from "../_google_calendar/oauth_state.ts";
import { consumeFlow } from "../_google_calendar/pending_flows.ts";
import type { AdminClient } from "../_google_calendar/supabase_admin.ts";
import { queueUnsavedGrant, type TokenStore } from "../_google_calendar/token_store.ts";
import { deliverSoon } from "../_google_calendar/webhook_delivery.ts";
import {
  type ConnectFailureResult,
  recordConnectFailure,
} from "../_google_calendar/webhook_events.ts";
import { type ConsentResult, resultLocation } from "./result_location.ts";

export type { ConsentResult } from "./result_location.ts";

/** What the handler needs, explicitly. */
export interface CallbackDeps {
  config: Config;
  db: AdminClient;
  google: GoogleOAuth;
  tokens: TokenStore;
  /** After a connect committed: e.g. open the push channel (watchAfterConnect), in the background. */
  onConnected?: (userId: string) => void;
}

/** The result of one callback. */
export interface CallbackOutcome {
  result: ConsentResult;
  /** The error code behind a result other than `connected`. */
  reason?: ErrorCode;
  userId?: string;
  /** The state's signature checked out: the request came from a link we made. */
  verified?: boolean;
}

const MAX_URL_LENGTH = 8192;

const TEXT: Record<ConsentResult, string> = {
  connected: "Google Calendar is connected. You can close this tab and go back to the chat.",
  denied: "Google Calendar was not connected because access was declined. Ask for a new link " +
    "if you change your mind.",
  partial: "Google did not grant access to your calendar events. Ask for a new link and keep the " +
    "calendar box ticked on Google's page.",
  expired: "This link has expired or was already used. Ask for a new link.",
  error: "Google Calendar could not be connected. Please ask for a new link and try again.",
};

const INVALID_LINK_TEXT = "This Google Calendar link is not valid. Ask for a new link.";

/** The google-callback handler over `deps`. */
export function createCallbackHandler(deps: CallbackDeps): (req: Request) => Promise<Response> {
  // Imported once per process rather than on every callback.
  const withKey = { ...deps, stateKey: importStateKey(deps.config.state) };
  return async (req) => {
    if (req.method !== "GET") {
      // x-error-code like every other refusal below, so callers can branch on one header.
      return new Response("Method not allowed.\n", {
        status: 405,
        headers: {
          ...SECURITY_HEADERS,
          allow: "GET",
          "content-type": "text/plain; charset=utf-8",
          "x-error-code": "method_not_allowed",
        },
      });
    }
    const outcome = await completeConsent(req.url, withKey);
    // The bot hears of it in the background: the redirect never waits for the webhook.
    if (outcome.userId && outcome.result !== "expired") {
      deliverSoon(
        { db: deps.db, webhooks: deps.config.webhooks, timeoutMs: deps.config.httpTimeoutMs },
        outcome.userId,
      );
    }
    if (outcome.userId && outcome.result === "connected") deps.onConnected?.(outcome.userId);
    // One line per callback, with nothing from the request but the (verified) user id.
    const line = `google-callback: result=${outcome.result}` +
      (outcome.reason ? ` code=${outcome.reason}` : "") +
      (outcome.userId ? ` user=${outcome.userId}` : "");
    if (outcome.result === "error") console.error(line);
    else console.log(line);
    return respond(outcome, deps.config.resultPageUrl);
  };
}

/** The whole callback, as a value: which result the person sees, and why. */
export async function completeConsent(
  requestUrl: string,
  deps: CallbackDeps & { stateKey?: Promise<StateKey> },
): Promise<CallbackOutcome> {
  let userId: string | undefined;
  let verified = false;
  try {
    if (requestUrl.length > MAX_URL_LENGTH) {
      throw new AppError("invalid_request", "The address is too long.");
    }
    const url = new URL(requestUrl);
    const states = url.searchParams.getAll("state");
    if (states.length !== 1) throw new AppError("state_invalid", "The sign-in link is not valid.");
    // Which of two would count is up to each parser: refuse, before the flow is used up.
    for (const name of REPEAT_REFUSED) {
      if (url.searchParams.getAll(name).length > 1) {
        throw new AppError("invalid_request", `${name} was given more than once.`);
      }
    }
    // Google answers with a code or an error. Anything else (a state copied out of a consent
    // link, say) is refused before the flow is used up, so the person's real answer still works.
    if (!url.searchParams.has("code") && !url.searchParams.has("error")) {
      throw new AppError("invalid_request", "This is not an answer from Google.");
    }
    const state = states[0]!;
    const { config } = deps;
    const stateKey = await (deps.stateKey ?? importStateKey(config.state));
    const claims = await verifyState(stateKey, state);
    verified = true;

    // Consumed before anything else, so a state works once whatever happens next. The state
    // names only the flow; the user comes from the flow, and must be the one the state was
    // signed for (defence in depth: a flow row pointing elsewhere is refused, not completed).
    const flow = await consumeFlow(deps.db, claims.jti);
    if (!flow) throw new AppError("flow_not_found", "This link was already used.");
    if (!(await stateBelongsTo(stateKey, claims, flow.userId))) {
      verified = false;
      throw new AppError("state_invalid", "The sign-in link is not valid.");
    }
    userId = flow.userId;
    if (flow.expiresAt.getTime() <= Date.now()) {
      throw new AppError("state_expired", "The sign-in link has expired.");
    }

    // oauth4webapi checks the state and Google's `iss` against what we expect.
    const callbackUrl = new URL(config.google.redirectUri);
    callbackUrl.search = url.search;
    const { tokens, account } = await deps.google.exchangeCode(callbackUrl, {
      expectedState: state,
      codeVerifier: flow.codeVerifier,
    });
    if (!hasCalendarScope(tokens.scopes)) {
      // Google's grant (email and profile, say) stays live with no row to record it: queue its
      // refresh token with its account, revoked once no user of the app holds that account.
      await queueUnsaved(deps, userId, account.sub, tokens.refreshToken, "partial_consent");
      throw new AppError("google_scope_missing", "Calendar access was not granted.");
    }
    if (
      flow.expectedGoogleEmail !== null && !isExpectedAccount(account, flow.expectedGoogleEmail)
    ) {
      // A forwarded link, or the wrong account picked: store nothing. Google's grant to us is
      // given back at once (best effort) rather than left unused at Google, unless some user
      // (this one included) holds that account: any revocation would end their grant too.
      const linked = await deps.tokens.linkedGoogleAccounts([account.sub]).catch(() => null);
      if (linked?.size === 0) {
        await deps.google.revoke(tokens.refreshToken ?? tokens.accessToken).catch(() => false);
      }
      throw new AppError(
        "google_account_mismatch",
        "This link was made for another Google account.",
      );
    }
    try {
      await deps.tokens.save({
        userId,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        expiresAt: tokens.expiresAt,
        refreshTokenExpiresAt: tokens.refreshTokenExpiresAt,
        scopes: tokens.scopes,
        googleSub: account.sub,
        googleEmail: account.email,
      });
    } catch (error) {
      // Not stored: the grant Google gave is queued like a partial one (when the database
      // answers again; a save that failed for good leaves the log line below).
      await queueUnsaved(deps, userId, account.sub, tokens.refreshToken, "save_failed");
      throw error;
    }
    return { result: "connected", userId, verified };
  } catch (error) {
    const app = toAppError(error);
    if (app.code === "internal_error") console.error(`google-callback: ${describeForLog(app)}`);
    const result = resultFor(app.code);
    // Only a verified state and its taken flow name a user: a stranger makes no event.
    if (userId && result !== "expired" && result !== "connected") {
      await recordFailure(deps, { userId, result, reason: app.code });
    }
    return { result, reason: app.code, verified, ...(userId ? { userId } : {}) };
  }
}

/** The callback parameters that must come once (state has its own check above). */
const REPEAT_REFUSED = ["code", "iss", "error", "scope"] as const;

/**
 * The consenting account is the expected one only with a verified email equal to it, ignoring
 * case. An unverified email proves nothing about who owns it, so it counts as a mismatch.
 */
function isExpectedAccount(
  account: { email: string | null; emailVerified: boolean },
  expected: string,
): boolean {
  return account.emailVerified && account.email !== null &&
    account.email.toLowerCase() === expected.toLowerCase();
}

/**
 * Queues the refresh token of a grant no row holds, for revocation; never throws (what the person
 * sees does not change, and nothing here logs the token).
 */
async function queueUnsaved(
  deps: CallbackDeps,
  userId: string,
  googleSub: string,
  refreshToken: string | null,
  cause: "partial_consent" | "save_failed",
): Promise<void> {
  if (refreshToken === null) return;
  await queueUnsavedGrant(deps.db, deps.config.encryption, {
    userId,
    googleSub,
    refreshToken,
    cause,
  }).catch((error) => {
    console.error(
      `google-callback: unsaved grant not queued for revocation: ${describeForLog(error)}`,
    );
  });
}

/** Queues connect_failed; a database failure here must not change what the person sees. */
async function recordFailure(
  deps: CallbackDeps,
  failure: { userId: string; result: ConnectFailureResult; reason: string },
): Promise<void> {
  await recordConnectFailure(deps.db, failure, deps.config.webhooks).catch((error) => {
    console.error(`google-callback: connect_failed not queued: ${describeForLog(error)}`);
  });
}

function resultFor(code: ErrorCode): ConsentResult {
  switch (code) {
    case "consent_denied":
      return "denied";
    case "google_scope_missing":
      return "partial";
    case "state_expired":
    case "flow_not_found":
      return "expired";
    default:
      return "error";
  }
}

function respond(outcome: CallbackOutcome, resultPageUrl: string | null): Response {
  const headers: Record<string, string> = { ...SECURITY_HEADERS };
  // Without a verified state the request did not come from a flow we started: there is no
  // person's journey to continue, so it is refused outright rather than redirected.
  const unverified = !outcome.verified && outcome.reason !== "state_expired";
  if (resultPageUrl && !unverified) {
    const location = resultLocation(resultPageUrl, outcome);
    return new Response(null, { status: 303, headers: { ...headers, location: location.href } });
  }
  const status = outcome.result === "connected"
    ? 200
    : outcome.reason === "database_unavailable" || outcome.reason === "google_unavailable"
    ? 503
    : 400;
  if (outcome.reason) headers["x-error-code"] = outcome.reason;
  const text = unverified ? INVALID_LINK_TEXT : TEXT[outcome.result];
  return new Response(text + "\n", {
    status,
    headers: { ...headers, "content-type": "text/plain; charset=utf-8" },
  });
}
