/**
 * Refresh storm: 200 concurrent callers over 4 processes (storm_worker.ts) on an expired token.
 * Refresh grants are counted at the emulator (must be exactly 1). The callers' p99 wait is set
 * against two floors measured in the same run: the same storm on a valid token (no refresh: what
 * 4 processes reading at once cost on this machine) and the uncontended single-caller refresh
 * path (one caller, an expired token: read, lease, refresh at Google, save). Goal: p99 ≤
 * valid-storm p99 + 1.2 × that path. One bare refresh round trip at the emulator is reported too.
 */

import { queryRows } from "../../stack/postgres.ts";
import { median, percentile, round } from "../../stats.ts";
import { type BenchContext, createUsers, load, log, type PhaseResult } from "../context.ts";
import { connectFully, directCode, refreshGrants, tokenForm } from "../flows.ts";
import { TextLineStream } from "../lines.ts";
import { DENO } from "../../stack/tools.ts";
import { mark } from "../report.ts";

/** Its value for --only. */
export const name = "storm";
/** Its key in results.json. */
export const key = "refresh_storm";
/** The log line when it starts. */
export const title = "refresh storm";

/** One bare refresh round trip at the emulator, as the floor: its latency result. */
async function bareRefresh(ctx: BenchContext) {
  const info = ctx.stack.info;
  const { code, verifier } = await directCode(
    ctx,
    `bench-refresh-${crypto.randomUUID()}@gmail.test`,
  );
  const tokenRes = await fetch(`${info.google_emulator_url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: tokenForm(ctx, {
      grant_type: "authorization_code",
      code,
      redirect_uri: info.google_redirect_uri,
      code_verifier: verifier,
    }),
  });
  const refreshToken = (await tokenRes.json()).refresh_token as string;
  return await load({
    jobs: [[{
      url: `${info.google_emulator_url}/token`,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: tokenForm(ctx, { grant_type: "refresh_token", refresh_token: refreshToken }),
      expect: [200],
    }]],
    concurrency: 1,
    reuse: true,
    warmup: { jobs: 10 },
    measure: { jobs: 60 },
  });
}

/** Expires a connected user's token, storms it from several processes, counts the grants. */
export async function run(ctx: BenchContext): Promise<PhaseResult> {
  const info = ctx.stack.info;
  const warmUser = await ctx.connectedUser();
  const [userId] = await createUsers(ctx, 1, "bench-storm");
  await connectFully(ctx, userId!);
  const { processes, callers } = ctx.plan.storm;
  const bare = await bareRefresh(ctx);

  const workers = Array.from({ length: processes }, () => {
    const child = new Deno.Command(DENO, {
      args: [
        "run",
        "--quiet",
        "--allow-all",
        "local/bench/storm_worker.ts",
        `${info.stack_dir}/stack.json`,
        warmUser,
        userId!,
        String(callers / processes),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream())
      .pipeThrough(new TextLineStream()).getReader();
    const writer = child.stdin.getWriter();
    return { child, lines, writer };
  });
  try {
    for (const w of workers) {
      const { value } = await w.lines.read();
      if (value !== "ready") throw new Error(`storm worker said ${value}`);
    }
    /** Sends `command` to every worker; all callers' waits, sorted, and the errors. */
    const storm = async (command: "go" | "valid") => {
      const line = new TextEncoder().encode(`${command}\n`);
      await Promise.all(workers.map((w) => w.writer.write(line)));
      const outs = await Promise.all(workers.map(async (w) => {
        const { value } = await w.lines.read();
        return JSON.parse(value!) as { waits: number[]; errors: string[]; distinctTokens: number };
      }));
      return {
        waits: outs.flatMap((o) => o.waits).sort((a, b) => a - b),
        errors: outs.flatMap((o) => o.errors),
      };
    };
    const expire = () =>
      queryRows(
        info.db_url,
        `update public.google_calendar_tokens set token_expiry = now() - interval '1 minute' ` +
          `where user_id = '${userId}'`,
      );
    // The uncontended single-caller refresh path: one caller in one process, token expired.
    const singles: number[] = [];
    const single = new TextEncoder().encode("single\n");
    for (let i = 0; i < ctx.plan.storm.singles; i++) {
      await expire();
      await workers[0]!.writer.write(single);
      const { value } = await workers[0]!.lines.read();
      const out = JSON.parse(value!) as { waits: number[]; errors: string[] };
      if (out.errors.length > 0) throw new Error(`single refresh failed: ${out.errors[0]}`);
      singles.push(out.waits[0]!);
    }
    const singlePath = median(singles);
    const runs = [];
    const validP99s: number[] = [];
    for (let r = 0; r < ctx.plan.storm.runs; r++) {
      validP99s.push(percentile((await storm("valid")).waits, 99));
      await expire();
      const before = await refreshGrants(ctx);
      const { waits, errors } = await storm("go");
      const after = await refreshGrants(ctx);
      runs.push({
        refresh_grants: after.ok - before.ok,
        refresh_errors: after.error - before.error,
        caller_errors: errors.length,
        p50: round(percentile(waits, 50), 2),
        p99: round(percentile(waits, 99), 2),
        max: round(waits[waits.length - 1]!, 2),
      });
    }
    const p99 = median(runs.map((x) => x.p99));
    const validP99 = median(validP99s);
    const waitGoal = validP99 + 1.2 * singlePath;
    const oneGrant = runs.every((x) => x.refresh_grants === 1 && x.caller_errors === 0);
    const st = {
      goal: "exactly 1 refresh grant per storm; wait p99 ≤ the valid-token storm's p99 + " +
        "1.2 × the uncontended single-caller refresh path, both in this run",
      callers,
      processes,
      refresh_grants: runs.map((x) => x.refresh_grants),
      caller_errors: runs.reduce((n, x) => n + x.caller_errors, 0),
      wait_p50: round(median(runs.map((x) => x.p50)), 2),
      wait_p99: round(p99, 2),
      valid_token_storm_p99: round(validP99, 2),
      single_refresh_path_p50: round(singlePath, 2),
      single_refresh_path_runs: singles.map((t) => round(t, 2)),
      bare_refresh_p50: round(bare.p50, 2),
      one_grant: oneGrant,
      wait_goal_ms: round(waitGoal, 2),
      goal_met: oneGrant && p99 <= waitGoal,
      runs,
    };
    log(
      `  grants ${st.refresh_grants.join(",")}, wait p99 ${st.wait_p99} ms, valid storm p99 ` +
        `${st.valid_token_storm_p99} ms, single refresh path ${st.single_refresh_path_p50} ms`,
    );
    return {
      section: st,
      rows: [{
        figure: `refresh storm, ${st.callers} callers in ${st.processes} processes`,
        measured: `grants ${st.refresh_grants.join(", ")}; wait p50 ${st.wait_p50} ms, ` +
          `p99 ${st.wait_p99} ms`,
        baseline: `the same storm on a valid token: p99 ${st.valid_token_storm_p99} ms; one ` +
          `caller refreshing alone: ${st.single_refresh_path_p50} ms (bare refresh at the ` +
          `emulator ${st.bare_refresh_p50} ms)`,
        ratio: `p99 − valid p99 = ${round(p99 - validP99, 2)} ms = ` +
          `${round((p99 - validP99) / singlePath, 2)} × the single path`,
        goal: `1 grant, p99 ≤ ${st.wait_goal_ms} ms: ${mark(st.goal_met)}`,
      }],
    };
  } finally {
    for (const w of workers) {
      await w.writer.close().catch(() => {});
      await w.child.status;
    }
  }
}
