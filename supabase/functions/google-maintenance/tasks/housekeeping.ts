/**
 * Housekeeping: expired pending flows, and webhook events delivered (or dead) longer ago than
 * the retention. Each purge is one statement that claims and deletes at once.
 */

import { defineTask } from "../task.ts";

/** The housekeeping task (report section `housekeeping`, with ./webhook_retries.ts). */
export const housekeeping = defineTask({
  name: "housekeeping",
  section: "housekeeping",
  figures: () => ({ flows_purged: 0, webhooks_purged: 0 }),
  begin: (pass, figures) => ({
    batch: pass.limits.batchLimit,
    async claim(limit: number): Promise<never[]> {
      figures.flows_purged = await pass.rpc("google_maintenance_purge_flows", {
        p_limit: limit,
      });
      figures.webhooks_purged = await pass.rpc(
        "google_calendar_webhook_purge",
        {
          p_retention: `${pass.deps.maintenance.webhookRetentionDays} days`,
          p_limit: limit,
        },
      );
      // Once a pass: what is left waits for the next.
      return [];
    },
  }),
});
