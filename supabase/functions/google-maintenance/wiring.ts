/**
 * What index.ts wires from the configuration: the pass's dependencies from the kit's core (the
 * callers it lets in are _google_calendar/caller_auth.ts's serviceOnlyCallerVerifier).
 */

import type { Config } from "../_google_calendar/config.ts";
import type { Core } from "../_google_calendar/core.ts";
import { channelDepsFor, syncDepsFor } from "../_google_calendar/push.ts";
import { deliverDue } from "../_google_calendar/webhook_delivery.ts";
import type { MaintenanceDeps } from "./task.ts";

/** Most webhook events one pass delivers (the receiver sees at most 8 at once). */
export const WEBHOOKS_PER_PASS = 500;

/** The pass's dependencies from `core` (built once per process for `config`). */
export function maintenanceDeps(config: Config, core: Core): MaintenanceDeps {
  const webhooks = config.webhooks;
  return {
    db: core.db,
    keyring: config.encryption,
    tokens: core.tokens,
    lease: core.lease,
    google: core.google,
    maintenance: config.maintenance,
    webhooks: webhooks !== null,
    timeoutMs: config.httpTimeoutMs,
    ...(webhooks
      ? {
        deliverWebhooks: (deadline: number) =>
          deliverDue(
            { db: core.db, webhooks, timeoutMs: config.httpTimeoutMs },
            { limit: WEBHOOKS_PER_PASS, deadline },
          ),
      }
      : {}),
    ...(config.push ? { push: { channels: channelDepsFor(core), sync: syncDepsFor(core) } } : {}),
  };
}
