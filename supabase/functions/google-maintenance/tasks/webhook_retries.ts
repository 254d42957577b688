/**
 * Webhook retries: due webhook events (new ones a request's own delivery missed, and retries
 * after a failure) are delivered, when webhooks are on. _google_calendar/webhook_delivery.ts
 * claims, sends and settles them; this task gives it the pass's deadline.
 */

import type { DeliveryReport } from "../../_google_calendar/webhook_delivery.ts";
import { defineTask } from "../task.ts";

/** The webhook-retries task (its figures go in the report's `housekeeping.webhooks`). */
export const webhookRetries = defineTask({
  name: "webhooks",
  section: "housekeeping",
  /** deliverDue's report; null when webhooks are off (or no time was left). */
  figures: () => ({ webhooks: null as DeliveryReport | null }),
  begin: (pass, figures) => {
    const deliver = pass.deps.deliverWebhooks;
    if (!deliver) return null;
    return {
      batch: 1,
      deadline: true,
      async claim(): Promise<never[]> {
        // Its deliveries end one timeout before the pass's deadline.
        figures.webhooks = await deliver(pass.deadline - pass.deps.timeoutMs);
        return [];
      },
    };
  },
});
