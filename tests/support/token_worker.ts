/**
 * A separate process asking for one user's access token `n` times at once, as another Edge
 * Function instance would. Prints the tokens it got (JSON) or the error codes.
 * Usage: token_worker.ts <stack.json> <user_id> <n>
 */

import { loadConfig } from "../../supabase/functions/_google_calendar/config.ts";
import { createCore as createServices } from "../../supabase/functions/_google_calendar/core.ts";

const [stackFile, userId, n] = Deno.args;
const info = JSON.parse(await Deno.readTextFile(stackFile!));
const { accessTokens } = createServices(loadConfig(info.function_env));
const results = await Promise.all(
  Array.from({ length: Number(n) }, () =>
    accessTokens.getGoogleAccessToken(userId!).then(
      (t) => ({ token: t.accessToken }),
      (e) => ({ error: e?.code ?? String(e) }),
    )),
);
console.log(JSON.stringify(results));
