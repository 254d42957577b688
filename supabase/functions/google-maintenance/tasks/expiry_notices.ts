/**
 * Expiry notices: google_calendar.expiring, once per grant, a configured time before a
 * time-limited grant lapses. One statement marks the grants and queues their events.
 */

import { defineTask } from "../task.ts";

/** The expiry-notices task (report section `expiring`). */
export const expiryNotices = defineTask({
  name: "expiring",
  section: "expiring",
  figures: () => ({ notified: 0 }),
  begin: (pass, figures) => {
    const before = new Date(
      pass.startedAt + pass.deps.maintenance.expiringNoticeHours * 3600_000,
    ).toISOString();
    return {
      batch: pass.limits.batchLimit,
      limit: { rows: pass.limits.batchLimit, reason: "batch limit" },
      async claim(limit: number) {
        const rows = await pass.rpc("google_maintenance_mark_expiring", {
          p_before: before,
          p_limit: limit,
          p_webhooks: pass.deps.webhooks,
        });
        figures.notified += rows.length;
        return rows;
      },
    };
  },
});
