/**
 * A separate process (as a calendar skill's Edge Function would be) timing getGoogleAccessToken
 * call by call for a token in its last five minutes (renewed in the background by the first
 * call) against the same calls for a valid token, in alternating blocks. Prints one JSON line:
 * per run, both series' p50 and p99 in milliseconds, and whether the renewal landed.
 * Usage: near_expiry_worker.ts <stack.json> <user_id> <runs> <calls per block>
 */

import { createClient } from "@supabase/supabase-js";
import { loadConfig } from "../../supabase/functions/_google_calendar/config.ts";
import { createCore } from "../../supabase/functions/_google_calendar/core.ts";
import { TOKENS_TABLE } from "../../supabase/functions/_google_calendar/token_store.ts";
import { percentile } from "../stats.ts";

const [stackFile, userId, runsArg, callsArg] = Deno.args;
const info = JSON.parse(await Deno.readTextFile(stackFile!));
const { accessTokens } = createCore(loadConfig(info.function_env));
const admin = createClient(info.api_url, info.service_role_key, {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
});

/** Sets the stored expiry (unmeasured): `seconds` from now. */
async function expireIn(seconds: number): Promise<void> {
  const { error } = await admin.from(TOKENS_TABLE)
    .update({ token_expiry: new Date(Date.now() + seconds * 1000).toISOString() })
    .eq("user_id", userId!);
  if (error) throw new Error(`update failed: ${error.message}`);
}

async function block(calls: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    const token = await accessTokens.getGoogleAccessToken(userId!);
    times.push(performance.now() - t0);
    if (!token.accessToken) throw new Error("no token");
  }
  return times;
}

async function renewedWithin(ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const { data } = await admin.from(TOKENS_TABLE).select("token_expiry").eq("user_id", userId!)
      .single();
    if (data && Date.parse(data.token_expiry) > Date.now() + 10 * 60_000) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

await expireIn(3600);
await block(100); // warm the connections and the JIT
const runs = [];
for (let r = 0; r < Number(runsArg); r++) {
  await expireIn(180); // three minutes left: inside the renew-ahead window, outside the margin
  const near = (await block(Number(callsArg))).sort((a, b) => a - b);
  const renewed = await renewedWithin(5000);
  await expireIn(3600);
  const valid = (await block(Number(callsArg))).sort((a, b) => a - b);
  runs.push({
    near: { p50: percentile(near, 50), p99: percentile(near, 99), max: near.at(-1)! },
    valid: { p50: percentile(valid, 50), p99: percentile(valid, 99), max: valid.at(-1)! },
    renewed,
  });
}
console.log(JSON.stringify(runs));
