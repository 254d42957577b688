/**
 * A separate process (as a calendar skill's Edge Function would be) timing, call by call and
 * interleaved, `getGoogleAccessToken(userId)` for a valid token against a plain supabase-js select
 * of the same row. Prints one JSON line: per run, both series' p50 and p99 in milliseconds.
 * Usage: access_token_worker.ts <stack.json> <user_id> <runs> <calls per run>
 */

import { createClient } from "@supabase/supabase-js";
import { loadConfig } from "../../supabase/functions/_google_calendar/config.ts";
import { createCore as createServices } from "../../supabase/functions/_google_calendar/core.ts";
import {
  TOKEN_COLUMNS,
  TOKENS_TABLE,
} from "../../supabase/functions/_google_calendar/token_store.ts";
import { percentile } from "../stats.ts";

const [stackFile, userId, runsArg, callsArg] = Deno.args;
const info = JSON.parse(await Deno.readTextFile(stackFile!));
const { accessTokens } = createServices(loadConfig(info.function_env));
const plain = createClient(info.api_url, info.service_role_key, {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
});

async function ours(): Promise<number> {
  const t0 = performance.now();
  const token = await accessTokens.getGoogleAccessToken(userId!);
  if (!token.accessToken) throw new Error("no token");
  return performance.now() - t0;
}

async function select(): Promise<number> {
  const t0 = performance.now();
  const { data, error } = await plain.from(TOKENS_TABLE).select(TOKEN_COLUMNS).eq(
    "user_id",
    userId!,
  )
    .maybeSingle();
  if (error || !data) throw new Error(`select failed: ${error?.message}`);
  return performance.now() - t0;
}

for (let i = 0; i < 200; i++) {
  await ours();
  await select();
}
const runs = [];
for (let r = 0; r < Number(runsArg); r++) {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < Number(callsArg); i++) {
    // Alternate which goes first so neither always follows the other.
    if (i % 2 === 0) {
      a.push(await ours());
      b.push(await select());
    } else {
      b.push(await select());
      a.push(await ours());
    }
  }
  a.sort((x, y) => x - y);
  b.sort((x, y) => x - y);
  runs.push({
    ours: { p50: percentile(a, 50), p99: percentile(a, 99) },
    select: { p50: percentile(b, 50), p99: percentile(b, 99) },
  });
}
console.log(JSON.stringify(runs));
