/**
 * Housekeeping: expired pending flows, and webhook events delivered (or dead) longer ago than
 * the retention. Each purge is one statement that claims and deletes at once; batches follow one
 * another while full, until the pass's deadline (a backlog of a million rows is not left at
 * 1,000 a pass), leaving the second half of the remaining time to the webhook retries after it.
 */

import { defineTask } from "../task.ts";

/** The housekeeping task (report section `housekeeping`, with ./webhook_retries.ts). */
export const housekeeping = defineTask({
  name: "housekeeping",
  section: "housekeeping",
  figures: () => ({ flows_purged: 0, webhooks_purged: 0 }),
  begin: (pass, figures) => {
    const until = Date.now() + (pass.deadline - pass.deps.timeoutMs - Date.now()) / 2;
    return {
      batch: pass.limits.batchLimit,
      deadline: true,
      // One placeholder per row the fuller purge deleted: a full batch means claim again.
      async claim(limit: number): Promise<null[]> {
        const flows = await pass.rpc("google_maintenance_purge_flows", { p_limit: limit });
        const webhooks = await pass.rpc("google_calendar_webhook_purge", {
          p_retention: `${pass.deps.maintenance.webhookRetentionDays} days`,
          p_limit: limit,
        });
        figures.flows_purged += flows;
        figures.webhooks_purged += webhooks;
        return new Array<null>(Math.max(flows, webhooks)).fill(null);
      },
      next(rows: null[], limit: number) {
        if (rows.length < limit) return "done";
        return Date.now() < until ? "more" : { stop: "time left to webhook retries" };
      },
    };
  },
});
