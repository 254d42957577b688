/**
 * Channel renewals: each active channel is replaced before the expiration Google gave it, at
 * the random time chosen when it opened (so renewals spread over the window). The new channel is
 * opened first; its activation marks the old one replaced and queues its stop, which
 * ./channel_stops.ts sends. A renewal that fails leaves the old channel serving, and is tried
 * again after a backoff (the window is days long). Each renewal is one watch call for one user:
 * far inside Google's per-user quota.
 */

import { isAppError } from "../../_google_calendar/errors.ts";
import { openChannel } from "../../_google_calendar/push_channels.ts";
import type { RpcReturns } from "../rpc.ts";
import { defineTask } from "../task.ts";

type RenewalRow = RpcReturns<"google_calendar_channel_claim_renewals">[number];

/** The channel-renewals task (report section `push`). */
export const channelRenewals = defineTask({
  name: "channel_renewals",
  section: "push",
  figures: () => ({ renewals_claimed: 0, renewed: 0, renewals_failed: 0, renewals_dropped: 0 }),
  begin: (pass, figures) => {
    const push = pass.deps.push;
    if (!push) return null;
    // Covers a token refresh and the watch call, each at the full timeout, and the saves.
    const leaseSeconds = Math.ceil((4 * pass.deps.timeoutMs) / 1000);
    return {
      batch: pass.limits.concurrency,
      google: { share: 0.25 },
      async claim(limit: number): Promise<RenewalRow[]> {
        const rows = await pass.rpc("google_calendar_channel_claim_renewals", {
          p_limit: limit,
          p_lease_seconds: leaseSeconds,
        });
        figures.renewals_claimed += rows.length;
        return rows;
      },
      async act(row: RenewalRow): Promise<string | null> {
        pass.googleCall();
        try {
          const opened = await openChannel(push.channels, row.user_id);
          if (opened.result === "active") figures.renewed++;
          else figures.renewals_dropped++;
          return null;
        } catch (error) {
          figures.renewals_failed++;
          return isAppError(error) ? error.code : "internal_error";
        }
      },
      async settle(row: RenewalRow, failure: string | null) {
        if (failure === null) return;
        await pass.rpc("google_calendar_channel_renewal_failed", {
          p_id: row.id,
          p_lease_id: row.lease_id,
          p_error: failure,
        });
      },
    };
  },
});
