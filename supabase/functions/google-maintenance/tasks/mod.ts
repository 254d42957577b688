/**
 * The maintenance tasks, in the order a pass runs them. A new task is one module beside these,
 * listed here once: the runner drives it and the report gains its figures.
 */

import { expiredGrants } from "./expired_grants.ts";
import { expiryNotices } from "./expiry_notices.ts";
import { housekeeping } from "./housekeeping.ts";
import { keepAlive } from "./keep_alive.ts";
import { keyRewrap } from "./key_rewrap.ts";
import { revocationQueue } from "./revocation_queue.ts";
import { webhookRetries } from "./webhook_retries.ts";

/** Every task, in running order. */
export const TASKS = [
  expiredGrants,
  expiryNotices,
  revocationQueue,
  keepAlive,
  keyRewrap,
  housekeeping,
  webhookRetries,
] as const;
