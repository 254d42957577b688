/**
 * The revocation queue: refresh tokens of deleted grants, revoked at Google. At most half the
 * pass's Google budget, so a burst of deletions cannot starve keep-alive.
 */

import { createAccessTokenProvider } from "../../_google_calendar/access_token.ts";
import { describeForLog, isAppError } from "../../_google_calendar/errors.ts";
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
    /** Grants of a revoked account saved during the revoke, tested with a refresh. */
    saved_during_revoke: 0,
    /** Of those, dead (the revoke ended them): deleted as reconnect_required. */
    ended_by_revoke: 0,
  }),
  begin: (pass, figures) => {
    // The entry's lease covers one revoke call and the settle after it.
    const leaseSeconds = Math.ceil((3 * pass.deps.timeoutMs) / 1000);
    // One attempt each: the refresh test of a grant saved while its account was being revoked.
    const accessTokens = createAccessTokenProvider(
      { tokens: pass.deps.tokens, lease: pass.deps.lease, google: pass.google },
      { timeoutMs: pass.deps.timeoutMs, attempts: 1 },
    );
    /**
     * After a revoke of `googleSub`: no row held the account at the check (under the account's
     * lock, shared with save_grant), so any row holding it now was saved since, and the revoke
     * may have ended its grant. A refresh tells: invalid_grant deletes it as reconnect_required
     * (the bot hears), anything else leaves it be.
     */
    async function testSavedSince(googleSub: string): Promise<void> {
      const holders: string[] = await pass.rpc("google_calendar_account_holders", {
        p_google_sub: googleSub,
      });
      for (const userId of holders) {
        figures.saved_during_revoke++;
        try {
          await accessTokens.renew(userId);
        } catch (error) {
          if (isAppError(error, "google_reconnect_required")) figures.ended_by_revoke++;
          else console.warn(`google-maintenance: refresh test: ${describeForLog(error)}`);
        }
      }
    }
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
        let revoked: boolean;
        try {
          revoked = await pass.google.revoke(refreshToken);
        } catch (error) {
          figures.retried++;
          return {
            outcome: "retry",
            note: isAppError(error) ? error.code : "google_unavailable",
          };
        }
        if (!revoked) {
          figures.already_invalid++; // Google: 400 invalid_token, nothing to revoke.
        } else {
          figures.revoked++;
          if (row.google_sub !== null) {
            // The revoke is done whatever this finds; a failure here is only logged.
            await testSavedSince(row.google_sub).catch((error) =>
              console.warn(`google-maintenance: saved-since check: ${describeForLog(error)}`)
            );
          }
        }
        return { outcome: "done", note: null };
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
