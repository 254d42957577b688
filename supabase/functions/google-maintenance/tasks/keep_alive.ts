/**
 * Keep-alive: grants unused for KEEPALIVE_DAYS are refreshed, under the normal refresh lease, so
 * Google does not expire a refresh token that sat idle for six months.
 *
 * One attempt per grant: a transient failure leaves the row for the next pass, and the lease it
 * holds is sized for one call (3 × the timeout), not for a retry ladder.
 */

import { createAccessTokenProvider } from "../../_google_calendar/access_token.ts";
import { isAppError } from "../../_google_calendar/errors.ts";
import { defineTask } from "../task.ts";

/** Keep-alive stops for the pass after this many transient failures, if half its calls failed. */
const UNAVAILABLE_STOP_AFTER = 5;

/** A claimed grant: its user, and the lease this pass holds on it. */
interface Claimed {
  userId: string;
  leaseId: string;
}

/** The keep-alive task (report section `keepalive`). */
export const keepAlive = defineTask({
  name: "keepalive",
  section: "keepalive",
  figures: () => ({
    claimed: 0,
    refreshed: 0,
    reconnect_required: 0,
    transient: 0,
    skipped: 0,
    /** google_client_misconfigured, google_rate_limited or google_unavailable. */
    stopped: null as string | null,
  }),
  begin: (pass, figures) => {
    const accessTokens = createAccessTokenProvider(
      { tokens: pass.deps.tokens, lease: pass.deps.lease, google: pass.google },
      { timeoutMs: pass.deps.timeoutMs, attempts: 1 },
    );
    const usedBefore = new Date(
      pass.startedAt - pass.deps.maintenance.keepaliveDays * 86_400_000,
    ).toISOString();
    /** Users claimed in this pass, whatever came of it: not claimed again. */
    const tried = new Set<string>();
    return {
      batch: pass.limits.concurrency,
      google: {},
      async claim(limit: number): Promise<Claimed[]> {
        const leaseId = crypto.randomUUID();
        const rows = await pass.rpc("google_maintenance_claim_keepalive", {
          p_used_before: usedBefore,
          p_limit: limit,
          p_lease_id: leaseId,
          p_lease_seconds: accessTokens.leaseSeconds,
          // Tried already in this pass: a row no refresh can help stays oldest, and would
          // otherwise be claimed first again and again.
          p_exclude: [...tried],
        });
        for (const row of rows) tried.add(row.user_id);
        figures.claimed += rows.length;
        return rows.map((row) => ({ userId: row.user_id, leaseId }));
      },
      async act({ userId, leaseId }: Claimed) {
        if (figures.stopped) {
          // Misconfigured client or Google asking us to back off: every call would fail the
          // same way. Let go untouched.
          figures.skipped++;
          await pass.timedDb(() => pass.deps.lease.release(userId, leaseId))
            .catch(() => {});
          return;
        }
        try {
          // renew(leaseId) refreshes under the lease we hold and always lets it go; on
          // invalid_grant it deletes this grant (reconnect_required + disconnected events).
          await accessTokens.renew(userId, { leaseId });
          figures.refreshed++;
        } catch (error) {
          if (isAppError(error, "google_reconnect_required")) {
            figures.reconnect_required++;
          } else if (isAppError(error, "google_client_misconfigured")) {
            pass.clientMisconfigured();
            figures.stopped = "google_client_misconfigured";
            figures.transient++;
          } else if (isAppError(error, "google_rate_limited")) {
            figures.stopped = "google_rate_limited";
            figures.transient++;
          } else if (
            isAppError(error, "google_unavailable") ||
            isAppError(error, "database_unavailable")
          ) {
            // Left for the next pass (the claim, oldest first, finds it again).
            figures.transient++;
            // Google failing for most of what we ask: stop for this pass rather than spend the
            // budget on it.
            if (
              figures.transient >= UNAVAILABLE_STOP_AFTER &&
              figures.transient * 2 >= pass.googleCallsUsed()
            ) {
              figures.stopped ??= "google_unavailable";
            }
          } else {
            // Not connected any more, no calendar scope, a row that does not decrypt: nothing a
            // refresh can do. renew() has let its lease go; it is not claimed again this pass.
            figures.skipped++;
          }
        }
      },
      next: () => figures.stopped ? { stop: figures.stopped } : undefined,
    };
  },
});
