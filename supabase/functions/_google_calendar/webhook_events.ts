/**
 * Lifecycle events the functions write themselves. Most are written by database triggers in the
 * transaction of the change (connected, disconnected, reconnect_required); a failed consent
 * changes no row, so its event is written here, by an RPC.
 */

import type { WebhookSettings } from "./config.ts";
import { type AdminClient, databaseError } from "./supabase_admin.ts";

/** What the person saw, for `google_calendar.connect_failed`. */
export type ConnectFailureResult = "denied" | "partial" | "error";

/**
 * Queues `google_calendar.connect_failed` for `userId`. Call it only after the state was verified
 * and its pending flow taken (so a stranger cannot make events). True when an event was queued
 * (false with webhooks off). Throws AppError database_unavailable.
 */
export async function recordConnectFailure(
  db: AdminClient,
  failure: { userId: string; result: ConnectFailureResult; reason: string },
  webhooks: WebhookSettings | null,
): Promise<boolean> {
  if (!webhooks) return false;
  const { data, error } = await db.rpc(
    "google_calendar_record_connect_failure",
    {
      p_user_id: failure.userId,
      p_result: failure.result,
      p_reason: failure.reason,
      p_webhooks: true,
    },
  );
  if (error) throw databaseError(error);
  return data === true;
}
