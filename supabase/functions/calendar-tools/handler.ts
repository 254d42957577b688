/**
 * calendar-tools: the calendar tools over plain HTTP, for a bot's tool loop.
 * - GET answers `{ tools: [{ name, description, input_schema }] }`.
 * - POST `{ user_id, tool, input }` runs one tool and answers `{ result }`, or `{ code, message }`
 *   (with `field`, `needed_scopes` or `retry_after_seconds` when they help).
 * Callers as for every per-user function: a bot key or the service credentials naming the user,
 * or a signed-in user acting for themself. The model never picks the user: the caller does.
 */

import type { CallerVerifier } from "../_google_calendar/caller_auth.ts";
import { AppError, logError } from "../_google_calendar/errors.ts";
import { errorResponse, jsonResponse } from "../_google_calendar/http.ts";
import { readJsonObject, resolveUserId } from "../_google_calendar/request_input.ts";
import { toolCatalog, type ToolRunner } from "../_google_calendar/calendar/runner.ts";

/** The methods calendar-tools answers. */
export const TOOLS_METHODS = ["GET", "POST"] as const;

/** A tool call's body may carry a long description or many guests, within reason. */
export const MAX_TOOL_BODY_BYTES = 64 * 1024;

/** What the handler needs, explicitly. */
export interface ToolsDeps {
  callers: CallerVerifier;
  run: ToolRunner;
}

/** The calendar-tools handler over `deps`. */
export function createToolsHandler(deps: ToolsDeps): (req: Request) => Promise<Response> {
  return async (req) => {
    try {
      if (!(TOOLS_METHODS as readonly string[]).includes(req.method)) {
        throw new AppError("method_not_allowed", `Use ${TOOLS_METHODS.join(" or ")}.`);
      }
      const caller = await deps.callers.authenticate(req);
      if (new URL(req.url).search !== "") {
        throw new AppError("invalid_request", "Send the call as a JSON body, not in the query.");
      }
      if (req.method === "GET") return jsonResponse(200, { tools: toolCatalog() });
      const body = await readJsonObject(req, MAX_TOOL_BODY_BYTES);
      const unknown = Object.keys(body).find((k) => !["user_id", "tool", "input"].includes(k));
      if (unknown) {
        throw new AppError("invalid_request", "Unknown field; expected user_id, tool, input.");
      }
      if (body.user_id !== undefined && typeof body.user_id !== "string") {
        throw new AppError("invalid_request", "user_id must be a string.");
      }
      if (typeof body.tool !== "string" || body.tool === "") {
        throw new AppError("invalid_request", "tool is required: the name of a tool.");
      }
      const input = body.input ?? {};
      if (typeof input !== "object" || input === null || Array.isArray(input)) {
        throw new AppError("invalid_input", "input must be a JSON object.", {
          details: { field: "input" },
        });
      }
      const userId = resolveUserId(caller, body.user_id);
      return jsonResponse(200, { result: await deps.run(userId, body.tool, input) });
    } catch (error) {
      logError("calendar-tools", error);
      return errorResponse(error, TOOLS_METHODS);
    }
  };
}
