/**
 * Calendar syncs a push asked for that no push function finished: it died, Google failed (the
 * sync backs off in the database), or the request came while another sync held the lease.
 * _google_calendar/calendar_sync.ts claims, lists and saves them; each Google page counts
 * against the pass's budget.
 */

import { syncDue } from "../../_google_calendar/calendar_sync.ts";
import { defineTask } from "../task.ts";

/** The calendar-syncs task (report section `push`). */
export const calendarSyncs = defineTask({
  name: "syncs",
  section: "push",
  figures: () => ({
    syncs_claimed: 0,
    syncs_changed: 0,
    syncs_failed: 0,
    resyncs: 0,
    events_queued: 0,
  }),
  begin: (pass, figures) => {
    const push = pass.deps.push;
    if (!push) return null;
    const sync = {
      ...push.sync,
      googleFetch: (...args: Parameters<typeof push.sync.googleFetch>) => {
        pass.googleCall();
        return push.sync.googleFetch(...args);
      },
    };
    return {
      batch: pass.limits.concurrency,
      google: { share: 0.5 },
      async claim(limit: number): Promise<{ claimed: number }[]> {
        const report = await syncDue(sync, { limit });
        figures.syncs_claimed += report.claimed;
        figures.syncs_changed += report.changed;
        figures.syncs_failed += report.failed;
        figures.resyncs += report.resynced;
        figures.events_queued += report.events;
        // Done in the claim; one placeholder per sync, so a full batch asks for more.
        return Array.from({ length: report.claimed }, () => ({ claimed: 1 }));
      },
    };
  },
});
