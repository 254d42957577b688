/**
 * A separate process (another Edge Function instance, as it were) asking for the access tokens
 * of many users at once: one getGoogleAccessToken call per user, all concurrent. Prints one JSON
 * line: per call the user, the token it got or the error code, and how long it took.
 * Usage: load_token_worker.ts <stack.json> <user_id,user_id,...>
 */

import { loadConfig } from "../../supabase/functions/_google_calendar/config.ts";
import { createCore as createServices } from "../../supabase/functions/_google_calendar/core.ts";

const [stackFile, ids] = Deno.args;
const info = JSON.parse(await Deno.readTextFile(stackFile!));
const { accessTokens } = createServices(loadConfig(info.function_env));
const userIds = ids!.split(",").filter(Boolean);
const results = await Promise.all(userIds.map(async (userId) => {
  const start = performance.now();
  const outcome = await accessTokens.getGoogleAccessToken(userId).then(
    (t) => ({ token: t.accessToken }),
    (e) => ({ error: String(e?.code ?? e) }),
  );
  return { userId, ...outcome, ms: Math.round(performance.now() - start) };
}));
console.log(JSON.stringify(results));
