/**
 * The bench's phases, in the order they run. To add one, write phases/<name>.ts exporting
 * `name`, `key`, `title` and `run(ctx)` (see local/bench/README.md) and list it here.
 */

import type { Phase } from "../context.ts";
import * as connect from "./connect.ts";
import * as callback from "./callback.ts";
import * as webhooks from "./webhooks.ts";
import * as outbox from "./outbox.ts";
import * as accessToken from "./access_token.ts";
import * as tools from "./tools.ts";
import * as nearExpiry from "./near_expiry.ts";
import * as storm from "./storm.ts";
import * as cold from "./cold.ts";
import * as memory from "./memory.ts";
import * as maintenance from "./maintenance.ts";
import * as push from "./push.ts";

/**
 * Every phase, in running order (memory after callback: it reuses the callback phase's used
 * links; maintenance last: it fills the tokens table with up to 1M synthetic rows).
 */
export const PHASES: readonly Phase[] = [
  connect,
  callback,
  webhooks,
  outbox,
  accessToken,
  tools,
  nearExpiry,
  storm,
  cold,
  memory,
  push,
  maintenance,
];
