/**
 * A webhook runner in its own process, so a test can kill it mid-batch:
 *   deno run -A tests/support/webhook_runner_worker.ts <limit> <concurrency> [user ids, comma-separated]
 * With user ids it claims only their events, so other tests' backlog cannot change what it holds.
 * Prints the report as JSON when it finishes.
 */

import { runner } from "./webhooks.ts";

const [limit, concurrency] = Deno.args.slice(0, 2).map(Number);
const userIds = Deno.args[2]?.split(",").filter(Boolean);
const report = await runner({
  limit: limit ?? 100,
  concurrency: concurrency ?? 8,
  ...(userIds ? { userIds } : {}),
});
console.log(JSON.stringify(report));
