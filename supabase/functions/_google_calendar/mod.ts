/**
 * The front door for calendar skills: the one module a skill imports.
 *
 * ```ts
 * import { AppError, errorResponse, googleFetch, jsonResponse, readUserRequest } from "../_google_calendar/mod.ts";
 * ```
 *
 * It is also the only module that holds process-wide state: the core is built here, once, from
 * this process's environment (read and validated on first use). Everything else in `_google_calendar`
 * takes its dependencies as arguments.
 */

import type { GoogleAccessToken } from "./access_token.ts";
import { getConfig } from "./config.ts";
import { type Core, createCore } from "./core.ts";
import { readUserRequest as readUserRequestWith } from "./request_input.ts";
import type { ToolRunner } from "./calendar/runner.ts";

export { AppError, type ErrorCode, isAppError, logError } from "./errors.ts";
export { errorResponse, jsonResponse } from "./http.ts";
export type { GoogleAccessToken } from "./access_token.ts";
export type { ToolRunner } from "./calendar/runner.ts";

let core: Core | undefined;
let tools: ToolRunner | undefined;

/** This process's core, from its environment. Exported for the kit's own functions. */
export function processCore(): Core {
  core ??= createCore(getConfig());
  return core;
}

/**
 * A valid Google access token for `userId` (at least a minute left), its expiry and scopes.
 * Throws AppError: google_not_connected, google_reconnect_required (send a new link),
 * google_scope_missing, google_client_misconfigured, google_unavailable, database_unavailable.
 * Prefer googleFetch, which also handles Google's refusals.
 */
export function getGoogleAccessToken(userId: string): Promise<GoogleAccessToken> {
  return processCore().accessTokens.getGoogleAccessToken(userId);
}

/**
 * Calls a Google API as `userId`: `pathOrUrl` is a path under https://www.googleapis.com (or a
 * full Google API URL). Refreshes and retries a refused token once, retries 5xx for idempotent
 * methods, and throws AppError google_rate_limited (with retryAfterSeconds),
 * google_scope_missing, google_api_disabled, google_reconnect_required or google_unavailable.
 * Other answers, 2xx or 4xx, are returned for the skill to read.
 */
export function googleFetch(
  userId: string,
  pathOrUrl: string | URL,
  init?: RequestInit,
): Promise<Response> {
  return processCore().googleFetch(userId, pathOrUrl, init);
}

/**
 * The common front of a per-user function: checks the method, authenticates the caller (the bot,
 * or a signed-in user acting for themself), reads `user_id` and the named `params` from the
 * query or a small JSON body. Throws AppError (400, 401, 403, 405, 413, 415).
 */
export function readUserRequest(
  req: Request,
  options: { methods: readonly string[]; params?: readonly string[] },
): Promise<{ userId: string; params: Map<string, string> }> {
  return readUserRequestWith(req, processCore().callers, {
    methods: options.methods,
    params: options.params ?? [],
  });
}

/**
 * Runs one of the kit's calendar tools (list_events, create_event, ...: docs/tools.md) for
 * `userId`: the input is checked first (invalid_input, invalid_time_range: nothing reaches
 * Google), then the grant's scopes (google_scope_missing with needed_scopes). Answers the tool's
 * JSON result; throws AppError with a code a person or a model can act on. The tools (and zod,
 * Temporal) load on the first call, so a skill that never runs one does not pay for them at boot.
 */
export async function runCalendarTool(
  userId: string,
  tool: string,
  input: unknown,
): Promise<unknown> {
  if (!tools) {
    const { toolRunnerFor } = await import("./calendar/runner.ts");
    tools = toolRunnerFor(processCore());
  }
  return await tools(userId, tool, input);
}
