/**
 * One of the refresh storm's processes: builds the functions' services, warms its connections on
 * a user whose token is valid (reads, and a few refreshes), prints `ready`, then for every `go`
 * line on stdin fires `n` concurrent getGoogleAccessToken(userId) calls (for `valid`, the same
 * on the warm user, whose token needs no refresh; for `single`, one call alone: the uncontended
 * refresh path when the token has expired) and prints one JSON line with each call's wait in
 * milliseconds (from the line) and the errors. `exit` (or end of input) ends it.
 * Usage: storm_worker.ts <stack.json> <warm_user_id> <user_id> <n>
 */

import { TextLineStream } from "./lines.ts";
import { loadConfig } from "../../supabase/functions/_google_calendar/config.ts";
import { createCore as createServices } from "../../supabase/functions/_google_calendar/core.ts";

const [stackFile, warmUserId, userId, n] = Deno.args;
const info = JSON.parse(await Deno.readTextFile(stackFile!));
const services = createServices(loadConfig(info.function_env));
const { accessTokens } = services;
for (let i = 0; i < 20; i++) await accessTokens.getGoogleAccessToken(warmUserId!);
// And its connection to Google and the save path, as the bare refresh it is set against is warm.
for (let i = 0; i < 3; i++) await accessTokens.renew(warmUserId!);
console.log("ready");

for await (
  const line of Deno.stdin.readable.pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream())
) {
  const command = line.trim();
  if (command !== "go" && command !== "valid" && command !== "single") break;
  const target = command === "valid" ? warmUserId! : userId!;
  const start = performance.now();
  const results = await Promise.all(
    Array.from(
      { length: command === "single" ? 1 : Number(n) },
      () =>
        accessTokens.getGoogleAccessToken(target).then(
          (t) => ({ ms: performance.now() - start, token: t.accessToken.slice(-8) }),
          (e) => ({ ms: performance.now() - start, error: String(e?.code ?? e) }),
        ),
    ),
  );
  const waits = results.map((r) => r.ms);
  const errors = results.filter((r) => "error" in r).map((r) => (r as { error: string }).error);
  const tokens = new Set(results.flatMap((r) => "token" in r ? [r.token] : []));
  console.log(JSON.stringify({ waits, errors, distinctTokens: tokens.size }));
}
