/**
 * google-webhooks: delivers the lifecycle events that are due now, and answers with the count.
 * Called by the database when an event is written outside the functions (the
 * `google_calendar_webhook_wake` trigger, through pg_net in production and the local stack's
 * listener locally), so a user deleted by SQL or from the dashboard reaches the bot within
 * seconds, not at the next maintenance pass. The service credentials only, like
 * google-maintenance; calling it when nothing is due costs one claim.
 */

import type { CallerVerifier } from "../_google_calendar/caller_auth.ts";
import type { Config } from "../_google_calendar/config.ts";
import { AppError, logError } from "../_google_calendar/errors.ts";
import { errorResponse, jsonResponse } from "../_google_calendar/http.ts";
import type { AdminClient } from "../_google_calendar/supabase_admin.ts";
import { deliverDue, type DeliveryReport } from "../_google_calendar/webhook_delivery.ts";

/** The methods google-webhooks answers. */
export const WEBHOOKS_METHODS = ["POST"] as const;

/** Most events one call delivers; the maintenance pass and the next wake-up take the rest. */
export const WEBHOOKS_PER_CALL = 200;

/** Wall-clock budget of one call's claims (an attempt in flight still finishes), in ms. */
const DELIVERY_BUDGET_MS = 20_000;

/** Delivery of due events for `config` over `db`; null when webhooks are off. */
export function deliveryFor(
  config: Config,
  db: AdminClient,
): ((deadline: number) => Promise<DeliveryReport>) | null {
  const webhooks = config.webhooks;
  if (!webhooks) return null;
  return (deadline) =>
    deliverDue(
      { db, webhooks, timeoutMs: config.httpTimeoutMs },
      { limit: WEBHOOKS_PER_CALL, deadline },
    );
}

/**
 * The handler over `deps`: `callers` must know only the service credentials, `deliver` delivers
 * due events claiming none after its deadline (null: webhooks are off). 200 with the delivery
 * report; `{"disabled": true}` when webhooks are off.
 */
export function createWebhooksHandler(deps: {
  callers: CallerVerifier;
  deliver: ((deadline: number) => Promise<DeliveryReport>) | null;
  timeoutMs: number;
}): (req: Request) => Promise<Response> {
  return async (req) => {
    try {
      if (!(WEBHOOKS_METHODS as readonly string[]).includes(req.method)) {
        throw new AppError("method_not_allowed", "Use POST.");
      }
      const caller = await deps.callers.authenticate(req);
      if (caller.kind !== "service") {
        throw new AppError("unauthorized", "Send the service key.");
      }
      // pg_net sends a body we do not read; drain it so the connection is reused.
      await req.body?.cancel();
      if (!deps.deliver) return jsonResponse(200, { disabled: true });
      // No claim starts once less than one attempt's timeout is left of the budget.
      const report = await deps.deliver(Date.now() + DELIVERY_BUDGET_MS - deps.timeoutMs);
      return jsonResponse(200, report);
    } catch (error) {
      logError("google-webhooks", error);
      return errorResponse(error, WEBHOOKS_METHODS);
    }
  };
}
