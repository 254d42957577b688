/**
 * google-maintenance: one bounded maintenance pass (see ./runner.ts), answered with its JSON
 * report. Called on a schedule (Supabase Cron through pg_net in production, the local stack's
 * timer locally) with the service credentials; nothing else gets in: not a signed-in user's
 * token, not a bot API key.
 */

import type { CallerVerifier } from "../_google_calendar/caller_auth.ts";
import { AppError, logError } from "../_google_calendar/errors.ts";
import { errorResponse, jsonResponse } from "../_google_calendar/http.ts";
import type { PassReport } from "./report.ts";

/** The methods google-maintenance answers. */
export const MAINTENANCE_METHODS = ["POST"] as const;

/**
 * The handler over `deps`: `callers` must know only the service credentials (index.ts builds it
 * so), `runPass` runs one pass. 200 with the report when every task ran, 503 with the report when
 * one failed (the database was away, say): pg_net and the operator see the status.
 */
export function createMaintenanceHandler(
  deps: { callers: CallerVerifier; runPass: () => Promise<PassReport> },
): (req: Request) => Promise<Response> {
  return async (req) => {
    try {
      if (!(MAINTENANCE_METHODS as readonly string[]).includes(req.method)) {
        throw new AppError("method_not_allowed", "Use POST.");
      }
      const caller = await deps.callers.authenticate(req);
      if (caller.kind !== "service") {
        throw new AppError("unauthorized", "Send the service key.");
      }
      // The body (Cron sends one) carries nothing we read; drain it so the connection is reused.
      await req.body?.cancel();
      const report = await deps.runPass();
      return jsonResponse(report.ok ? 200 : 503, report);
    } catch (error) {
      logError("google-maintenance", error);
      return errorResponse(error, MAINTENANCE_METHODS);
    }
  };
}
