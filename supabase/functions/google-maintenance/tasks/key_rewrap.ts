/**
 * Key re-wrap: token rows, then revocation-queue rows, under an old key are re-encrypted under
 * the current one. CPU-bound (about 0.7 ms of CPU per row: two decryptions, two encryptions), so
 * the pass's rewrapLimit bounds it.
 */

import {
  decryptToken,
  encryptToken,
  TokenDecryptError,
} from "../../_google_calendar/token_crypto.ts";
import type { RevocationRewrapRow, RewrapRow } from "../rpc.ts";
import type { Pass } from "../task.ts";
import { defineTask } from "../task.ts";

/** Rows per claim. */
const BATCH = 200;

/** A row to re-wrap, from either table. */
type Row = { token: RewrapRow } | { queued: RevocationRewrapRow };

/** The re-wrap figures. */
interface Figures {
  tokens: number;
  revocations: number;
  conflicts: number;
  undecryptable: number;
}

/** The key re-wrap task (report section `rewrap`). */
export const keyRewrap = defineTask({
  name: "rewrap",
  section: "rewrap",
  figures: (): Figures => ({
    tokens: 0,
    revocations: 0,
    conflicts: 0,
    undecryptable: 0,
  }),
  begin: (pass, figures) => {
    const current = pass.deps.keyring.current.kid;
    // Only the old keys we hold: rows under a key removed from the keyring can never be
    // re-wrapped, and asked for they could fill every batch and stall the rotation for good.
    const held = pass.deps.keyring.keys.map((key) => key.kid).filter((kid) => kid !== current);
    if (held.length === 0) return null;
    // The tables in turn: the next once one has nothing left (or only rows we cannot read).
    const sources: ((limit: number) => Promise<Row[]>)[] = [
      async (limit) =>
        (await pass.rpc("google_maintenance_rewrap_batch_held", {
          p_key_ids: held,
          p_limit: limit,
        })).map((token) => ({ token })),
      async (limit) =>
        (await pass.rpc("google_calendar_revocation_rewrap_batch_held", {
          p_key_ids: held,
          p_limit: limit,
        })).map((queued) => ({ queued })),
    ];
    let source = 0;
    let undecryptableBefore = 0;
    return {
      batch: BATCH,
      limit: { rows: pass.limits.rewrapLimit, reason: "per-pass limit" },
      deadline: true,
      async claim(limit: number) {
        undecryptableBefore = figures.undecryptable;
        for (; source < sources.length; source++) {
          const rows = await sources[source]!(limit);
          if (rows.length > 0) return rows;
        }
        return [];
      },
      act: (row: Row) =>
        "token" in row
          ? rewrapToken(pass, figures, row.token)
          : rewrapQueued(pass, figures, row.queued),
      next(rows: Row[]) {
        // A batch of nothing but rows we cannot read would come back every time: next table.
        if (figures.undecryptable - undecryptableBefore === rows.length) {
          source++;
        }
        return "more";
      },
    };
  },
});

async function rewrapToken(
  pass: Pass,
  figures: Figures,
  row: RewrapRow,
): Promise<void> {
  const { keyring } = pass.deps;
  const userId = row.user_id;
  let access: string, refresh: string;
  try {
    [access, refresh] = await Promise.all([
      decryptToken(keyring, row.access_token, {
        userId,
        field: "access_token",
      }),
      decryptToken(keyring, row.refresh_token, {
        userId,
        field: "refresh_token",
      }),
    ]);
  } catch (error) {
    if (!(error instanceof TokenDecryptError)) throw error;
    figures.undecryptable++;
    return;
  }
  const [newAccess, newRefresh] = await Promise.all([
    encryptToken(keyring, access, { userId, field: "access_token" }),
    encryptToken(keyring, refresh, { userId, field: "refresh_token" }),
  ]);
  // Compare-and-set on the grant, the old key and the old access token: a refresh or a new
  // consent in between wins, and wrote under the current key anyway.
  const stored = await pass.rpc("google_maintenance_rewrap_token", {
    p_user_id: userId,
    p_grant_id: row.grant_id,
    p_old_key_id: row.key_id,
    p_old_access_token: row.access_token,
    p_access_token: newAccess,
    p_refresh_token: newRefresh,
  });
  if (stored) figures.tokens++;
  else figures.conflicts++;
}

async function rewrapQueued(
  pass: Pass,
  figures: Figures,
  row: RevocationRewrapRow,
) {
  const { keyring } = pass.deps;
  const binding = { userId: row.user_id, field: "refresh_token" } as const;
  let refresh: string;
  try {
    refresh = await decryptToken(keyring, row.refresh_token, binding);
  } catch (error) {
    if (!(error instanceof TokenDecryptError)) throw error;
    figures.undecryptable++;
    return;
  }
  const stored = await pass.rpc("google_calendar_revocation_rewrap", {
    p_id: row.id,
    p_old_key_id: row.key_id,
    p_refresh_token: await encryptToken(keyring, refresh, binding),
  });
  if (stored) figures.revocations++;
  else figures.conflicts++;
}
