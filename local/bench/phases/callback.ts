/**
 * google-callback: latency of full callbacks (valid state and code, consents prepared beforehand
 * through google-connect and the emulator), against the same round trips made directly in a
 * sequence: the gateway hop to an empty function, the `DELETE … RETURNING` of a pending flow, the
 * token endpoint with a valid code and PKCE verifier, the upsert of an encrypted row. The
 * difference is our own time. Goal: < 2 ms at p50 (c=1).
 */

import { encryptToken } from "../../../supabase/functions/_google_calendar/token_crypto.ts";
import { loadConfig } from "../../../supabase/functions/_google_calendar/config.ts";
import { queryRows } from "../../stack/postgres.ts";
import { pool } from "../../../supabase/functions/_google_calendar/async.ts";
import { median, round } from "../../stats.ts";
import { type BenchContext, createUsers, load, log, type PhaseResult } from "../context.ts";
import { directCode, preparedCallback, SCOPES, tokenForm } from "../flows.ts";
import type { LoadResult, LoadSpec, Step } from "../load_client.ts";
import { mark, type TableRow } from "../report.ts";

/** Its value for --only. */
export const name = "callback";
/** Its key in results.json. */
export const key = "callback";
/** The log line when it starts. */
export const title = "google-callback against its round trips";

const CONCURRENCY = [1, 16] as const;

/** Measures callbacks beside their round trips; leaves the used links in the context. */
export async function run(ctx: BenchContext): Promise<PhaseResult> {
  const info = ctx.stack.info;
  const plan = ctx.plan;
  const config = loadConfig(info.function_env);
  const sizes = CONCURRENCY.map((c) => ({ c, ...plan.callback[c] }));
  const perRun = (s: { warmup: number; jobs: number }) => s.warmup + s.jobs;
  const total = sizes.reduce((n, s) => n + perRun(s) * plan.runs, 0);

  log(`  preparing ${total} consents through google-connect and ${total} direct ones`);
  const cbUsers = await createUsers(ctx, total, "bench-callback");
  const callbackUrls = await pool(cbUsers, 12, (id) => preparedCallback(ctx, id));

  // The floor: the same round trips, made directly: the gateway hop (an empty function), the
  // DELETE … RETURNING of a pending flow, the token endpoint with a valid code, and the upsert.
  const floorUsers = await createUsers(ctx, total, "bench-floor");
  const floorFlows = await pool(floorUsers, 12, async (userId) => {
    const { code, verifier } = await directCode(ctx, `bench-${crypto.randomUUID()}@gmail.test`);
    const jti = crypto.randomUUID();
    const [access, refresh] = await Promise.all([
      encryptToken(config.encryption, `ya29.${crypto.randomUUID()}${crypto.randomUUID()}`, {
        userId,
        field: "access_token",
      }),
      encryptToken(config.encryption, `1//${crypto.randomUUID()}${crypto.randomUUID()}`, {
        userId,
        field: "refresh_token",
      }),
    ]);
    return { userId, code, verifier, jti, access, refresh };
  });
  const values = floorFlows.map((f) =>
    `('${f.jti}', '${f.userId}', '${f.verifier}', now() + interval '10 minutes')`
  ).join(",\n");
  await queryRows(
    info.db_url,
    `insert into public.google_oauth_pending_flows (jti, user_id, code_verifier, expires_at) values ${values}`,
  );

  const callbackJobs: Step[][] = callbackUrls.map((url) => [{
    url,
    expect: [303],
    expectHeader: ["location", "result=connected"],
  }]);
  const floorJobs: Step[][] = floorFlows.map((f) => [
    { url: `${info.functions_url}/bench-empty`, expect: [200] },
    {
      url: `${info.rest_url}/google_oauth_pending_flows?jti=eq.${f.jti}&user_id=eq.${f.userId}` +
        `&select=code_verifier,expires_at`,
      method: "DELETE",
      headers: { ...ctx.restHeaders, prefer: "return=representation" },
      expect: [200],
    },
    {
      url: `${info.google_emulator_url}/token`,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: tokenForm(ctx, {
        grant_type: "authorization_code",
        code: f.code,
        redirect_uri: info.google_redirect_uri,
        code_verifier: f.verifier,
      }),
      expect: [200],
    },
    {
      url: `${info.rest_url}/google_calendar_tokens?on_conflict=user_id`,
      method: "POST",
      headers: {
        ...ctx.restHeaders,
        "content-type": "application/json",
        prefer: "resolution=merge-duplicates,return=minimal",
      },
      body: JSON.stringify({
        user_id: f.userId,
        access_token: f.access,
        refresh_token: f.refresh,
        token_expiry: new Date(Date.now() + 3_600_000).toISOString(),
        scopes: SCOPES,
        google_sub: "123456789012345678901",
        google_email: "bench@gmail.test",
        updated_at: new Date().toISOString(),
        refresh_lease_id: null,
        refresh_lease_until: null,
        last_refresh_error: null,
      }),
      expect: [201, 200],
    },
  ]);

  const rows = [];
  let offset = 0;
  for (const { c, warmup, jobs } of sizes) {
    const runs: { callback: LoadResult; floor: LoadResult }[] = [];
    for (let r = 0; r < plan.runs; r++) {
      const slice = (all: Step[][]) => all.slice(offset, offset + warmup + jobs);
      const spec = (all: Step[][]): LoadSpec => ({
        jobs: slice(all),
        concurrency: c,
        reuse: false,
        warmup: { jobs: warmup },
        measure: {},
      });
      let callback: LoadResult, floor: LoadResult;
      if (r % 2 === 0) {
        floor = await load(spec(floorJobs));
        callback = await load(spec(callbackJobs));
      } else {
        callback = await load(spec(callbackJobs));
        floor = await load(spec(floorJobs));
      }
      offset += warmup + jobs;
      runs.push({ callback, floor });
    }
    const med2 = (pick: (x: { callback: LoadResult; floor: LoadResult }) => number) =>
      round(median(runs.map(pick)), 2);
    const own50 = median(runs.map((x) => x.callback.p50 - x.floor.p50));
    const row = {
      concurrency: c,
      callback: {
        p50: med2((x) => x.callback.p50),
        p99: med2((x) => x.callback.p99),
        rps: round(median(runs.map((x) => x.callback.rps)), 1),
        errors: runs.reduce((n, x) => n + x.callback.errors, 0),
      },
      floor: {
        p50: med2((x) => x.floor.p50),
        p99: med2((x) => x.floor.p99),
        errors: runs.reduce((n, x) => n + x.floor.errors, 0),
        step_p50: {
          gateway_hop: med2((x) => x.floor.stepP50[0]!),
          delete_returning: med2((x) => x.floor.stepP50[1]!),
          token_endpoint: med2((x) => x.floor.stepP50[2]!),
          upsert: med2((x) => x.floor.stepP50[3]!),
        },
      },
      own_time_p50_ms: round(own50, 2),
      own_time_p99_ms: med2((x) => x.callback.p99 - x.floor.p99),
      goal_met: c === 1 ? own50 < 2 : null,
      runs: runs.map((x) => ({
        callback_p50: round(x.callback.p50, 2),
        floor_p50: round(x.floor.p50, 2),
        callback_p99: round(x.callback.p99, 2),
        floor_p99: round(x.floor.p99, 2),
      })),
    };
    log(
      `  c=${c}: callback p50 ${row.callback.p50} ms, floor ${row.floor.p50} ms → own ${row.own_time_p50_ms} ms`,
    );
    rows.push(row);
  }
  ctx.usedCallbackUrls = callbackUrls;
  return {
    section: { goal: "own time < 2 ms at p50", rows },
    rows: rows.map((row): TableRow => {
      const s = row.floor.step_p50;
      return {
        figure: `google-callback, c=${row.concurrency}`,
        measured: `p50 ${row.callback.p50} ms, p99 ${row.callback.p99} ms`,
        baseline: `its round trips: p50 ${row.floor.p50} ms (hop ${s.gateway_hop} + delete ` +
          `${s.delete_returning} + token ${s.token_endpoint} + upsert ${s.upsert})`,
        ratio: `own time p50 ${row.own_time_p50_ms} ms`,
        goal: row.concurrency === 1 ? `< 2 ms: ${mark(row.goal_met)}` : "(reported)",
      };
    }),
  };
}
