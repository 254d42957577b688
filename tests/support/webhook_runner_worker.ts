/**
 * A webhook runner in its own process, so a test can kill it mid-batch:
 *   deno run -A tests/support/webhook_runner_worker.ts <limit> <concurrency>
 * Prints the report as JSON when it finishes.
 */

import { runner } from "./webhooks.ts";

const [limit, concurrency] = Deno.args.map(Number);
const report = await runner({ limit: limit ?? 100, concurrency: concurrency ?? 8 });
console.log(JSON.stringify(report));
