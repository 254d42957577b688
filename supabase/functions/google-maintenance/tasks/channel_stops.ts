/**
 * The channel-stop queue: channels replaced by a renewal, and every channel of a grant that died
 * or changed account (queued by the grant's trigger, whatever deleted it). channels.stop needs a
 * token of the account: the user's current one while the grant lives, else the last access token
 * of the deleted grant (kept encrypted in the entry). Without a usable token nothing more can be
 * done: the channel lapses at its expiration, and google-calendar-push ignores its messages.
 * Then the housekeeping of channel rows: replaced channels past their expiration, and opening
 * rows of watches that never finished.
 */

import { describeForLog, isAppError } from "../../_google_calendar/errors.ts";
import { stopChannel } from "../../_google_calendar/push_channels.ts";
import { nullable } from "../../_google_calendar/supabase_admin.ts";
import { decryptToken, TokenDecryptError } from "../../_google_calendar/token_crypto.ts";
import type { RpcReturns } from "../rpc.ts";
import { defineTask } from "../task.ts";

type StopRow = RpcReturns<"google_calendar_channel_stop_claim">[number];

interface Outcome {
  outcome: "done" | "retry";
  note: string | null;
}

/**
 * The channel-stops task (report section `push`), built twice: once before the revocation queue
 * (a revoked grant's token can stop nothing), and once after the renewals (the channels they
 * replaced are stopped in the same pass).
 */
export const channelStops = channelStopsTask("channel_stops");
/** The second run of {@linkcode channelStops}, after the renewals. */
export const replacedChannelStops = channelStopsTask("replaced_channel_stops");

function channelStopsTask<Name extends string>(name: Name) {
  return defineTask({
    name,
    section: "push",
    figures: () => ({
      stops_claimed: 0,
      stopped: 0,
      /** Google knew no such channel, or it had expired: nothing to do. */
      stops_not_needed: 0,
      /** No usable token left: the channel lapses by itself. */
      stops_abandoned: 0,
      stops_retried: 0,
      channels_purged: 0,
    }),
    begin: (pass, figures) => {
      const push = pass.deps.push;
      if (!push) return null;
      const leaseSeconds = Math.ceil((3 * pass.deps.timeoutMs) / 1000);
      let purged = false;
      return {
        batch: pass.limits.concurrency,
        google: { share: 0.25 },
        async claim(limit: number): Promise<StopRow[]> {
          if (!purged) {
            purged = true;
            figures.channels_purged = await pass.rpc("google_calendar_channel_purge", {
              p_limit: pass.limits.batchLimit,
            });
          }
          const rows = await pass.rpc("google_calendar_channel_stop_claim", {
            p_limit: limit,
            p_lease_seconds: leaseSeconds,
          });
          figures.stops_claimed += rows.length;
          return rows;
        },
        async act(row: StopRow): Promise<Outcome> {
          const expiration = row.channel_expiration as string | null;
          if (expiration !== null && Date.parse(expiration) <= Date.now()) {
            figures.stops_not_needed++;
            return { outcome: "done", note: null };
          }
          let accessToken: string;
          try {
            accessToken = await tokenFor(row);
          } catch (error) {
            if (
              error instanceof TokenDecryptError || isAppError(error, "google_not_connected") ||
              isAppError(error, "google_reconnect_required") || error instanceof Expired
            ) {
              figures.stops_abandoned++;
              const why = error instanceof Error && !isAppError(error)
                ? error.name
                : describeForLog(error);
              console.warn(`google-maintenance: channel stop abandoned (no usable token): ${why}`);
              return { outcome: "done", note: null };
            }
            figures.stops_retried++;
            return { outcome: "retry", note: isAppError(error) ? error.code : "internal_error" };
          }
          pass.googleCall();
          try {
            const result = await stopChannel(push.channels, {
              channelId: row.channel_id,
              resourceId: row.resource_id,
              accessToken,
            });
            if (result === "stopped") figures.stopped++;
            else if (result === "not_found") figures.stops_not_needed++;
            else {
              figures.stops_abandoned++;
              console.warn("google-maintenance: channel stop abandoned: Google refused the token");
            }
            return { outcome: "done", note: null };
          } catch (error) {
            figures.stops_retried++;
            return {
              outcome: "retry",
              note: isAppError(error) ? error.code : "google_unavailable",
            };
          }
        },
        async settle(row: StopRow, { outcome, note }: Outcome) {
          await pass.rpc("google_calendar_channel_stop_settle", {
            p_channel_id: row.channel_id,
            p_lease_id: row.lease_id,
            p_outcome: outcome,
            p_error: nullable(note),
          });
        },
      };

      /** The deleted grant's stored token, or the live grant's current one. */
      async function tokenFor(row: StopRow): Promise<string> {
        const stored = row.access_token as string | null;
        if (stored === null) return await push!.channels.accessToken(row.user_id);
        const expiry = row.token_expiry as string | null;
        if (expiry !== null && Date.parse(expiry) <= Date.now() + 30_000) throw new Expired();
        return await decryptToken(pass.deps.keyring, stored, {
          userId: row.user_id,
          field: "access_token",
        });
      }
    },
  });
}

/** The deleted grant's access token has expired: no credential is left. */
class Expired extends Error {
  override name = "Expired";
}
