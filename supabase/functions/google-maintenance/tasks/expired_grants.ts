/**
 * Lapsed time-limited grants: deleted without asking Google (it would say invalid_grant), with
 * their reconnect_required and disconnected events.
 */

import { defineTask } from "../task.ts";

/** The expired-grants task (report section `expired`). */
export const expiredGrants = defineTask({
  name: "expired",
  section: "expired",
  figures: () => ({ deleted: 0 }),
  begin: (pass, figures) => ({
    batch: pass.limits.batchLimit,
    limit: { rows: pass.limits.batchLimit, reason: "batch limit" },
    parallel: 1,
    claim: (limit: number) => pass.rpc("google_maintenance_expired_grants", { p_limit: limit }),
    async act(row: { user_id: string; grant_id: string }) {
      const deleted = await pass.timedDb(() =>
        pass.deps.tokens.delete(row.user_id, {
          grantId: row.grant_id,
          cause: "reconnect_required",
          reason: "google_grant_expired",
          revokedAtGoogle: false,
          needsRevocation: false,
        })
      );
      if (deleted) figures.deleted++;
    },
  }),
});
