/**
 * The revocation queue: refresh tokens of deleted grants, revoked at Google. At most half the
 * pass's Google budget, so a burst of deletions cannot starve keep-alive.
 */

import { isAppError } from "../../_google_calendar/errors.ts";
import { nullable } from "../../_google_calendar/supabase_admin.ts";
import { decryptToken, TokenDecryptError } from "../../_google_calendar/token_crypto.ts";
import type { RevocationRow } from "../rpc.ts";
import { defineTask } from "../task.ts";

/** A claimed entry, and whether its Google account is linked to a user (again, or still). */
interface Entry {
  row: RevocationRow;
  linked: boolean;
}

/** What became of an entry: the settle RPC's outcome and note. */
interface Outcome {
  outcome: "done" | "retry";
  note: string | null;
}

/** The revocation-queue task (report section `revocations`). */
export const revocationQueue = defineTask({
  name: "revocations",
  section: "revocations",
  figures: () => ({
    claimed: 0,
    revoked: 0,
    already_invalid: 0,
    /** Its Google account is linked to a user again (or still): dropped, not revoked. */
    still_linked: 0,
    retried: 0,
    undecryptable: 0,
  }),
  begin: (pass, figures) => {
    // The entry's lease covers one revoke call and the settle after it.
    const leaseSeconds = Math.ceil((3 * pass.deps.timeoutMs) / 1000);
    return {
      batch: pass.limits.concurrency,
      google: { share: 0.5 },
      async claim(limit: number): Promise<Entry[]> {
        const rows: RevocationRow[] = await pass.rpc(
          "google_calendar_revocation_claim",
          {
            p_limit: limit,
            p_lease_seconds: leaseSeconds,
          },
        );
        figures.claimed += rows.length;
        if (rows.length === 0) return [];
        // Revoking ends the account's whole grant: not while a user holds that account (another
        // user, or this one reconnected). That user's own deletion queues their token later.
        const linked = await pass.timedDb(() =>
          pass.deps.tokens.linkedGoogleAccounts(
            rows.flatMap((row) => row.google_sub ? [row.google_sub] : []),
          )
        );
        return rows.map((row) => ({
          row,
          linked: row.google_sub !== null && linked.has(row.google_sub),
        }));
      },
      async act({ row, linked }: Entry): Promise<Outcome> {
        if (linked) {
          figures.still_linked++;
          return { outcome: "done", note: null };
        }
        let refreshToken: string;
        try {
          refreshToken = await decryptToken(
            pass.deps.keyring,
            row.refresh_token,
            {
              userId: row.user_id,
              field: "refresh_token",
            },
          );
        } catch (error) {
          if (!(error instanceof TokenDecryptError)) throw error;
          // Under a key we no longer hold: it can never be revoked by us. Kept (with backoff)
          // so the operator sees it in the key counts and can restore the key.
          figures.undecryptable++;
          return { outcome: "retry", note: "undecryptable" };
        }
        try {
          if (await pass.google.revoke(refreshToken)) figures.revoked++;
          else figures.already_invalid++; // Google: 400 invalid_token, nothing to revoke.
          return { outcome: "done", note: null };
        } catch (error) {
          figures.retried++;
          return {
            outcome: "retry",
            note: isAppError(error) ? error.code : "google_unavailable",
          };
        }
      },
      async settle({ row }: Entry, { outcome, note }: Outcome) {
        await pass.rpc("google_calendar_revocation_settle", {
          p_id: row.id,
          p_lease_id: row.lease_id,
          p_outcome: outcome,
          p_error: nullable(note),
        });
      },
    };
  },
});
