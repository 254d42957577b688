/**
 * The bench stack's webhook receiver as a process of its own (local/stack/webhook_receiver.ts,
 * quiet), so that the near-expiry phase can lower its CPU priority with the emulator's: in
 * production the bot's work does not share our cores. Prints its URL, then serves until stdin
 * closes. Usage: webhook_receiver_process.ts <whsec_ secret>
 */

import { startWebhookReceiver } from "../stack/webhook_receiver.ts";

const receiver = startWebhookReceiver({ secret: Deno.args[0]!, quiet: true });
console.log(receiver.url);
// Until the bench closes our stdin (or ends).
for await (const _ of Deno.stdin.readable) { /* nothing is sent */ }
await receiver.stop();
