/**
 * `npm run bench`: what each function costs, measured side by side with a floor in the same run.
 * Starts a private stack (.local/bench-stack, free ports) that also serves the baseline functions
 * of local/bench/functions, drives load from separate processes (load_client.ts and workers),
 * prints a table and writes .local/bench/results.json (and results.md, the README's table).
 *
 * Never part of `npm test`. Flags: --quick (fewer runs and shorter phases, for a smoke check).
 */

import { encryptToken } from "../../supabase/functions/_shared/token_crypto.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { answerConsent } from "../google_emulator/consent_client.ts";
import { functionCommand } from "../stack/functions.ts";
import { DENO } from "../stack/tools.ts";
import { queryRows } from "../stack/postgres.ts";
import { freePort } from "../stack/process.ts";
import { type Stack, startStack } from "../stack/stack.ts";
import type { LoadResult, LoadSpec, Step } from "./load_client.ts";
import { TextLineStream } from "./lines.ts";

const STACK_DIR = ".local/bench-stack";
const OUT_DIR = ".local/bench";
const flag = (name: string) =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const QUICK = Deno.args.includes("--quick");
const PHASES = ["connect", "callback", "access_token", "storm", "cold", "memory"] as const;
type Phase = typeof PHASES[number];
/** --only=cold,memory runs some phases (written to results-partial.json). */
const ONLY = flag("only")?.split(",") as Phase[] | undefined;
if (ONLY?.some((p) => !PHASES.includes(p))) {
  console.error(`--only takes a comma-separated list of ${PHASES.join(", ")}`);
  Deno.exit(2);
}
const runs = (phase: Phase) => !ONLY || ONLY.includes(phase);
/**
 * --functions-dir=DIR: a modified copy of supabase/functions for the cold start and memory phases
 * (which start their own processes), to measure a proposed change before making it.
 */
const FUNCTIONS_DIR = flag("functions-dir") ?? "supabase/functions";

/** Sizes of every phase; --quick shrinks them for a smoke run. */
const PLAN = QUICK
  ? {
    runs: 1,
    connect: { warmupMs: 300, measureMs: 800, concurrency: [1, 16, 64] },
    callback: { 1: { warmup: 5, jobs: 20 }, 16: { warmup: 16, jobs: 64 } },
    accessToken: { runs: 1, calls: 300 },
    storm: { runs: 1, processes: 4, callers: 200 },
    cold: { runs: 1 },
    memory: { first: 100, total: Number(flag("memory-requests") ?? 1_000) },
  }
  : {
    runs: 3,
    connect: { warmupMs: 500, measureMs: 2500, concurrency: [1, 16, 64] },
    callback: { 1: { warmup: 10, jobs: 80 }, 16: { warmup: 32, jobs: 240 } },
    accessToken: { runs: 3, calls: 1000 },
    storm: { runs: 3, processes: 4, callers: 200 },
    cold: { runs: 5 },
    memory: { first: 100, total: Number(flag("memory-requests") ?? 10_000) },
  };
const CALLBACK_CONCURRENCY = [1, 16] as const;
const CONNECT_USERS = 256;

const log = (line: string) => console.error(`[bench ${elapsed()}] ${line}`);
const benchStart = performance.now();
const elapsed = () => `${((performance.now() - benchStart) / 1000).toFixed(0).padStart(3)}s`;

// ---------------------------------------------------------------------------------------------
// Helpers

function median(values: number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function pct(sorted: number[], p: number): number {
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;
const r3 = (n: number) => Math.round(n * 1000) / 1000;

function sql(dbUrl: string, query: string): Promise<string[]> {
  return queryRows(dbUrl, query);
}

async function createUsers(dbUrl: string, n: number, prefix: string): Promise<string[]> {
  const tag = crypto.randomUUID().slice(0, 8);
  return await sql(
    dbUrl,
    `insert into auth.users (email) select '${prefix}-' || g || '-${tag}@example.com' ` +
      `from generate_series(1, ${n}) g returning id`,
  );
}

/** Runs one load in a fresh load_client.ts process. */
async function load(spec: LoadSpec): Promise<LoadResult> {
  const file = await Deno.makeTempFile({ dir: OUT_DIR, prefix: "spec-", suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(spec));
  try {
    const out = await new Deno.Command(DENO, {
      args: ["run", "--quiet", "--allow-net", "--allow-read", "local/bench/load_client.ts", file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(`load client failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    const result = JSON.parse(text) as LoadResult;
    if (result.errors > 0) {
      log(`  ${result.errors} failed requests, e.g. ${result.errorSamples.join(" | ")}`);
    }
    return result;
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** Runs `task` over `items` with at most `limit` at once. */
async function pool<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!);
    }
  }));
  return out;
}

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

async function pkce(): Promise<{ verifier: string; challenge: string }> {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return { verifier, challenge: b64url(new Uint8Array(digest)) };
}

async function machineInfo() {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKb = Number(meminfo.match(/MemTotal:\s+(\d+)/)?.[1] ?? 0);
  const pg = await new Deno.Command("psql", { args: ["--version"], stdout: "piped" }).output()
    .then((o) => new TextDecoder().decode(o.stdout).trim()).catch(() => "?");
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: cpuinfo.match(/model name\s*:\s*(.*)/)?.[1]?.trim() ?? "unknown",
    memory_gb: r1(memKb / 1024 / 1024),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    psql: pg,
    load_average_at_start: Deno.loadavg().map(r2),
  };
}

// ---------------------------------------------------------------------------------------------
// Consent flows: through google-connect (for the callback), and straight at the emulator (floor).

interface Env {
  stack: Stack;
  serviceHeaders: Record<string, string>;
  restHeaders: Record<string, string>;
}

/** google-connect for `userId`, then consent at the emulator: the callback URL, unused. */
async function preparedCallback(env: Env, userId: string): Promise<string> {
  const res = await fetch(`${env.stack.info.functions_url}/google-connect`, {
    method: "POST",
    headers: env.serviceHeaders,
    body: JSON.stringify({ user_id: userId }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`google-connect answered ${res.status} ${body.code}`);
  const cb = await answerConsent(body.auth_url, {
    email: `bench-${crypto.randomUUID()}@gmail.test`,
  });
  if (!cb.searchParams.get("code")) throw new Error(`consent gave no code: ${cb}`);
  return cb.href;
}

/** A code minted at the emulator for a PKCE verifier we know (no function involved). */
async function directCode(env: Env, email: string): Promise<{ code: string; verifier: string }> {
  const info = env.stack.info;
  const { verifier, challenge } = await pkce();
  const url = new URL(`${info.google_emulator_url}/o/oauth2/v2/auth`);
  url.search = new URLSearchParams({
    client_id: info.google_client_id,
    redirect_uri: info.google_redirect_uri,
    response_type: "code",
    scope: "openid email https://www.googleapis.com/auth/calendar.events",
    access_type: "offline",
    prompt: "consent",
    state: crypto.randomUUID(),
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  const cb = await answerConsent(url, { email });
  const code = cb.searchParams.get("code");
  if (!code) throw new Error(`consent gave no code: ${cb}`);
  return { code, verifier };
}

function tokenForm(env: Env, extra: Record<string, string>): string {
  return new URLSearchParams({
    client_id: env.stack.info.google_client_id,
    client_secret: env.stack.secrets.google_client_secret,
    ...extra,
  }).toString();
}

/** Connect, consent and callback for `userId`: a connected user, as the app would have. */
async function connectFully(env: Env, userId: string): Promise<void> {
  const res = await fetch(await preparedCallback(env, userId), { redirect: "manual" });
  await res.body?.cancel();
  const location = res.headers.get("location") ?? "";
  if (!location.includes("result=connected")) {
    throw new Error(`callback: ${res.status} ${location}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Phases

async function benchConnect(env: Env) {
  const info = env.stack.info;
  const users = await createUsers(info.db_url, CONNECT_USERS, "bench-connect");
  const jobs = (name: string): Step[][] =>
    users.map((id) => [{
      url: `${info.functions_url}/${name}`,
      method: "POST",
      headers: env.serviceHeaders,
      body: JSON.stringify({ user_id: id }),
      expect: [200],
    }]);
  const targets = {
    "google-connect": jobs("google-connect"),
    baseline: jobs("bench-baseline-insert"),
  };
  const rows = [];
  for (const concurrency of PLAN.connect.concurrency) {
    const runs: Record<string, LoadResult[]> = { "google-connect": [], baseline: [] };
    for (let r = 0; r < PLAN.runs; r++) {
      const order = r % 2 === 0 ? ["baseline", "google-connect"] : ["google-connect", "baseline"];
      for (const name of order) {
        runs[name]!.push(
          await load({
            jobs: targets[name as keyof typeof targets],
            concurrency,
            reuse: true,
            warmup: { ms: PLAN.connect.warmupMs },
            measure: { ms: PLAN.connect.measureMs },
          }),
        );
      }
    }
    const fig = (name: string) => ({
      rps: r1(median(runs[name]!.map((x) => x.rps))),
      p50: r2(median(runs[name]!.map((x) => x.p50))),
      p99: r2(median(runs[name]!.map((x) => x.p99))),
      errors: runs[name]!.reduce((n, x) => n + x.errors, 0),
      runs: runs[name]!.map((x) => ({ rps: r1(x.rps), p50: r2(x.p50), p99: r2(x.p99) })),
    });
    const connect = fig("google-connect");
    const baseline = fig("baseline");
    const row = {
      concurrency,
      connect,
      baseline,
      throughput_ratio: r3(connect.rps / baseline.rps),
      p50_ratio: r3(connect.p50 / baseline.p50),
      p99_ratio: r3(connect.p99 / baseline.p99),
      goal_met: connect.rps / baseline.rps >= 0.8,
    };
    log(
      `  c=${concurrency}: connect ${connect.rps} rps p50 ${connect.p50} ms, baseline ` +
        `${baseline.rps} rps p50 ${baseline.p50} ms → ${row.throughput_ratio}`,
    );
    rows.push(row);
  }
  return { goal: "throughput ≥ 0.8 × baseline", rows };
}

async function benchCallback(env: Env) {
  const info = env.stack.info;
  const config = loadConfig(info.function_env);
  const sizes = CALLBACK_CONCURRENCY.map((c) => ({ c, ...PLAN.callback[c] }));
  const perRun = (s: { warmup: number; jobs: number }) => s.warmup + s.jobs;
  const total = sizes.reduce((n, s) => n + perRun(s) * PLAN.runs, 0);

  log(`  preparing ${total} consents through google-connect and ${total} direct ones`);
  const cbUsers = await createUsers(info.db_url, total, "bench-callback");
  const callbackUrls = await pool(cbUsers, 12, (id) => preparedCallback(env, id));

  // The floor: the same round trips, made directly: the gateway hop (an empty function), the
  // DELETE … RETURNING of a pending flow, the token endpoint with a valid code, and the upsert.
  const floorUsers = await createUsers(info.db_url, total, "bench-floor");
  const floorFlows = await pool(floorUsers, 12, async (userId) => {
    const { code, verifier } = await directCode(env, `bench-${crypto.randomUUID()}@gmail.test`);
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
  await sql(
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
      headers: { ...env.restHeaders, prefer: "return=representation" },
      expect: [200],
    },
    {
      url: `${info.google_emulator_url}/token`,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: tokenForm(env, {
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
        ...env.restHeaders,
        "content-type": "application/json",
        prefer: "resolution=merge-duplicates,return=minimal",
      },
      body: JSON.stringify({
        user_id: f.userId,
        access_token: f.access,
        refresh_token: f.refresh,
        token_expiry: new Date(Date.now() + 3_600_000).toISOString(),
        scopes: ["openid", "email", "https://www.googleapis.com/auth/calendar.events"],
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
    for (let r = 0; r < PLAN.runs; r++) {
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
    const own50 = median(runs.map((x) => x.callback.p50 - x.floor.p50));
    const row = {
      concurrency: c,
      callback: {
        p50: r2(median(runs.map((x) => x.callback.p50))),
        p99: r2(median(runs.map((x) => x.callback.p99))),
        rps: r1(median(runs.map((x) => x.callback.rps))),
        errors: runs.reduce((n, x) => n + x.callback.errors, 0),
      },
      floor: {
        p50: r2(median(runs.map((x) => x.floor.p50))),
        p99: r2(median(runs.map((x) => x.floor.p99))),
        errors: runs.reduce((n, x) => n + x.floor.errors, 0),
        step_p50: {
          gateway_hop: r2(median(runs.map((x) => x.floor.stepP50[0]!))),
          delete_returning: r2(median(runs.map((x) => x.floor.stepP50[1]!))),
          token_endpoint: r2(median(runs.map((x) => x.floor.stepP50[2]!))),
          upsert: r2(median(runs.map((x) => x.floor.stepP50[3]!))),
        },
      },
      own_time_p50_ms: r2(own50),
      own_time_p99_ms: r2(median(runs.map((x) => x.callback.p99 - x.floor.p99))),
      goal_met: c === 1 ? own50 < 2 : null,
      runs: runs.map((x) => ({
        callback_p50: r2(x.callback.p50),
        floor_p50: r2(x.floor.p50),
        callback_p99: r2(x.callback.p99),
        floor_p99: r2(x.floor.p99),
      })),
    };
    log(
      `  c=${c}: callback p50 ${row.callback.p50} ms, floor ${row.floor.p50} ms → own ${row.own_time_p50_ms} ms`,
    );
    rows.push(row);
  }
  return { goal: "own time < 2 ms at p50", rows, usedCallbackUrls: callbackUrls };
}

async function benchAccessToken(env: Env, userId: string) {
  const out = await new Deno.Command(DENO, {
    args: [
      "run",
      "--quiet",
      "--allow-all",
      "local/bench/access_token_worker.ts",
      `${env.stack.info.stack_dir}/stack.json`,
      userId,
      String(PLAN.accessToken.runs),
      String(PLAN.accessToken.calls),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`access token worker: ${new TextDecoder().decode(out.stderr)}`);
  const runs = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    ours: { p50: number; p99: number };
    select: { p50: number; p99: number };
  }[];
  const ours = {
    p50: median(runs.map((x) => x.ours.p50)),
    p99: median(runs.map((x) => x.ours.p99)),
  };
  const select = {
    p50: median(runs.map((x) => x.select.p50)),
    p99: median(runs.map((x) => x.select.p99)),
  };
  const result = {
    goal: "p50 and p99 ≤ 1.15 × a plain supabase-js select",
    getGoogleAccessToken: { p50: r3(ours.p50), p99: r3(ours.p99) },
    plain_select: { p50: r3(select.p50), p99: r3(select.p99) },
    p50_ratio: r3(ours.p50 / select.p50),
    p99_ratio: r3(ours.p99 / select.p99),
    goal_met: ours.p50 / select.p50 <= 1.15 && ours.p99 / select.p99 <= 1.15,
    calls_per_run: PLAN.accessToken.calls,
    runs,
  };
  log(
    `  getGoogleAccessToken p50 ${result.getGoogleAccessToken.p50} ms vs select ${result.plain_select.p50} ms → ${result.p50_ratio}`,
  );
  return result;
}

async function emulatorStats(env: Env): Promise<{ ok: number; error: number }> {
  const res = await fetch(`${env.stack.info.google_emulator_url}/__emulator/stats`);
  const stats = await res.json();
  return stats.tokenGrants.refresh_token;
}

async function benchStorm(env: Env, warmUserId: string) {
  const info = env.stack.info;
  const [userId] = await createUsers(info.db_url, 1, "bench-storm");
  await connectFully(env, userId!);
  const { processes, callers } = PLAN.storm;

  // One bare refresh round trip at the emulator, as the floor.
  const { code, verifier } = await directCode(
    env,
    `bench-refresh-${crypto.randomUUID()}@gmail.test`,
  );
  const tokenRes = await fetch(`${info.google_emulator_url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: tokenForm(env, {
      grant_type: "authorization_code",
      code,
      redirect_uri: info.google_redirect_uri,
      code_verifier: verifier,
    }),
  });
  const refreshToken = (await tokenRes.json()).refresh_token as string;
  const bare = await load({
    jobs: [[{
      url: `${info.google_emulator_url}/token`,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: tokenForm(env, { grant_type: "refresh_token", refresh_token: refreshToken }),
      expect: [200],
    }]],
    concurrency: 1,
    reuse: true,
    warmup: { jobs: 10 },
    measure: { jobs: 60 },
  });

  const workers = Array.from({ length: processes }, () => {
    const child = new Deno.Command(DENO, {
      args: [
        "run",
        "--quiet",
        "--allow-all",
        "local/bench/storm_worker.ts",
        `${info.stack_dir}/stack.json`,
        warmUserId,
        userId!,
        String(callers / processes),
        ...(flag("storm-poll-ms") ? [flag("storm-poll-ms")!] : []),
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
    const runs = [];
    for (let r = 0; r < PLAN.storm.runs; r++) {
      await sql(
        info.db_url,
        `update public.google_calendar_tokens set token_expiry = now() - interval '1 minute' ` +
          `where user_id = '${userId}'`,
      );
      const before = await emulatorStats(env);
      const go = new TextEncoder().encode("go\n");
      await Promise.all(workers.map((w) => w.writer.write(go)));
      const outs = await Promise.all(workers.map(async (w) => {
        const { value } = await w.lines.read();
        return JSON.parse(value!) as { waits: number[]; errors: string[]; distinctTokens: number };
      }));
      const after = await emulatorStats(env);
      const waits = outs.flatMap((o) => o.waits).sort((a, b) => a - b);
      runs.push({
        refresh_grants: after.ok - before.ok,
        refresh_errors: after.error - before.error,
        caller_errors: outs.flatMap((o) => o.errors).length,
        p50: r2(pct(waits, 50)),
        p99: r2(pct(waits, 99)),
        max: r2(waits[waits.length - 1]!),
      });
    }
    const p99 = median(runs.map((x) => x.p99));
    const result = {
      goal: "exactly 1 refresh grant per storm",
      callers,
      processes,
      refresh_grants: runs.map((x) => x.refresh_grants),
      caller_errors: runs.reduce((n, x) => n + x.caller_errors, 0),
      wait_p50: r2(median(runs.map((x) => x.p50))),
      wait_p99: r2(p99),
      bare_refresh_p50: r2(bare.p50),
      p99_ratio: r2(p99 / bare.p50),
      goal_met: runs.every((x) => x.refresh_grants === 1 && x.caller_errors === 0),
      runs,
    };
    log(
      `  grants ${
        result.refresh_grants.join(",")
      }, wait p99 ${result.wait_p99} ms, bare refresh ${result.bare_refresh_p50} ms`,
    );
    return result;
  } finally {
    for (const w of workers) {
      await w.writer.close().catch(() => {});
      await w.child.status;
    }
  }
}

const FUNCTIONS = [
  "google-connect",
  "google-callback",
  "google-disconnect",
  "google-status",
  "calendar-upcoming",
];

/** A function process started as local/stack/functions.ts starts one, on a free port. */
function spawnFunction(env: Env, entry: string, port: number): Deno.ChildProcess {
  return new Deno.Command(DENO, {
    ...functionCommand(entry, port, env.stack.info.function_env),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Milliseconds from spawn to the first HTTP answer (any status below 500). */
async function firstAnswer(url: string, child: Deno.ChildProcess, t0: number): Promise<number> {
  let exited = false;
  child.status.then(() => exited = true);
  for (;;) {
    if (exited) throw new Error(`${url}: process exited before answering`);
    if (performance.now() - t0 > 60_000) throw new Error(`${url}: no answer within 60 s`);
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.status < 500) return performance.now() - t0;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function stopChild(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // Gone.
  }
  await child.status;
}

async function benchColdStart(env: Env) {
  const entries: [string, string][] = [
    ["bench-empty (imports nothing)", "local/bench/functions/bench-empty/index.ts"],
    ["bench-supabase-js (supabase-js only)", "local/bench/functions/bench-supabase-js/index.ts"],
    ...FUNCTIONS.map((f): [string, string] => [f, `${FUNCTIONS_DIR}/${f}/index.ts`]),
  ];
  const times = new Map<string, number[]>(entries.map(([n]) => [n, []]));
  for (let r = -1; r < PLAN.cold.runs; r++) { // r = -1: a warm-up round, not counted
    for (const [name, entry] of entries) {
      const port = freePort();
      const t0 = performance.now();
      const child = spawnFunction(env, entry, port);
      const ms = await firstAnswer(`http://127.0.0.1:${port}/functions/v1/bench`, child, t0);
      await stopChild(child);
      if (r >= 0) times.get(name)!.push(ms);
    }
  }
  const empty = median(times.get(entries[0]![0])!);
  const sbjs = median(times.get(entries[1]![0])!);
  const rows = entries.map(([name]) => {
    const ms = median(times.get(name)!);
    const isFunction = FUNCTIONS.includes(name);
    return {
      name,
      ms: r1(ms),
      vs_empty: r2(ms / empty),
      vs_supabase_js: r2(ms / sbjs),
      goal_met: isFunction ? ms / sbjs <= 1.3 : null,
      runs: times.get(name)!.map(r1),
    };
  });
  for (const row of rows) log(`  ${row.name}: ${row.ms} ms (× ${row.vs_supabase_js} supabase-js)`);
  return { goal: "≤ 1.3 × the supabase-js-only function", rows };
}

async function rssKb(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return {
    rss: Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? NaN),
    hwm: Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? NaN),
  };
}

async function benchMemory(
  env: Env,
  ctx: { connectedUser: string; idleUsers: string[]; usedCallbackUrls: string[] },
) {
  const rows = [];
  const only = flag("memory-only")?.split(",");
  const targets = ([
    ["bench-empty", "local/bench/functions/bench-empty/index.ts"],
    ["bench-baseline-insert", "local/bench/functions/bench-baseline-insert/index.ts"],
    ...FUNCTIONS.map((f): [string, string] => [f, `${FUNCTIONS_DIR}/${f}/index.ts`]),
  ] as [string, string][]).filter(([name]) => !only || only.includes(name));
  for (const [name, entry] of targets) {
    const port = freePort();
    const base = `http://127.0.0.1:${port}/functions/v1/${name}`;
    const service = env.serviceHeaders;
    const jobs: Step[][] =
      name === "google-connect" || name === "bench-baseline-insert" || name === "google-disconnect"
        ? ctx.idleUsers.map((id) => [{
          url: base,
          method: "POST",
          headers: service,
          body: JSON.stringify({ user_id: id }),
          expect: [200],
        }])
        : name === "google-callback"
        // Replayed links (already used): state verified, pending flow looked up, "expired".
        ? ctx.usedCallbackUrls.map((u) => [{
          url: base + new URL(u).search,
          expect: [303],
          expectHeader: ["location", "result=expired"] as [string, string],
        }])
        : name === "bench-empty"
        ? [[{ url: base, expect: [200] }]]
        : [[{
          url: `${base}?user_id=${ctx.connectedUser}`,
          headers: { authorization: service.authorization! },
          expect: [200],
        }]];
    const t0 = performance.now();
    const child = spawnFunction(env, entry, port);
    try {
      await firstAnswer(base, child, t0);
      // RSS after 100 requests (counting the first one), after 1,000, and after all of them.
      const samples: { requests: number; rss: number; hwm: number }[] = [];
      let done = 1;
      let errors = 0;
      let rps = 0;
      const points = [PLAN.memory.first, 1_000, 2_500, 5_000, 10_000];
      for (let n = 20_000; n < PLAN.memory.total; n += 10_000) points.push(n);
      points.push(PLAN.memory.total);
      for (const upTo of points.filter((n) => n <= PLAN.memory.total)) {
        if (upTo <= done) continue;
        const result = await load({
          jobs,
          concurrency: done === 1 ? 8 : 16,
          reuse: true,
          warmup: {},
          measure: { jobs: upTo - done },
        });
        errors += result.errors;
        rps = result.rps;
        done = upTo;
        samples.push({ requests: upTo, ...await rssKb(child.pid) });
      }
      const at = (n: number) => samples.find((x) => x.requests === n)!;
      const [after100, afterAll] = [at(PLAN.memory.first), at(PLAN.memory.total)];
      const row = {
        name,
        requests: PLAN.memory.total,
        rss_after_100_mb: r1(after100.rss / 1024),
        rss_after_1000_mb: r1(at(1_000).rss / 1024),
        rss_after_all_mb: r1(afterAll.rss / 1024),
        growth_mb: r1((afterAll.rss - after100.rss) / 1024),
        growth_after_1000_mb: r1((afterAll.rss - at(1_000).rss) / 1024),
        growth_ratio: r2(afterAll.rss / after100.rss),
        curve_mb: Object.fromEntries(samples.map((x) => [x.requests, r1(x.rss / 1024)])),
        peak_mb: r1(afterAll.hwm / 1024),
        errors,
        rps: r1(rps),
      };
      log(
        `  ${name}: ${row.rss_after_100_mb} MB → ${row.rss_after_1000_mb} MB → ` +
          `${row.rss_after_all_mb} MB (${row.rps} rps)`,
      );
      rows.push(row);
    } finally {
      await stopChild(child);
    }
  }
  return { goal: "no growth beyond noise", rows };
}

// ---------------------------------------------------------------------------------------------
// The table

type Results = Record<string, unknown> & {
  machine: Awaited<ReturnType<typeof machineInfo>>;
  connect?: Awaited<ReturnType<typeof benchConnect>>;
  callback?: Omit<Awaited<ReturnType<typeof benchCallback>>, "usedCallbackUrls">;
  access_token?: Awaited<ReturnType<typeof benchAccessToken>>;
  refresh_storm?: Awaited<ReturnType<typeof benchStorm>>;
  cold_start?: Awaited<ReturnType<typeof benchColdStart>>;
  memory?: Awaited<ReturnType<typeof benchMemory>>;
};

const sign = (n: number) => `${n >= 0 ? "+" : ""}${n}`;
const mark = (ok: boolean | null) => ok === null ? "" : ok ? "met" : "**missed**";

function markdown(res: Results): string {
  const m = res.machine;
  const lines: string[] = [
    `Run ${res.finished_at} on ${m.nproc} × ${m.cpu}, ${m.memory_gb} GB RAM, ${m.os}, ` +
    `Deno ${m.deno} (load average at start ${m.load_average_at_start.join(" ")}; ` +
    `${res.duration_s} s${res.quick ? "; --quick" : ""}).`,
    "",
    "| figure | measured | baseline, same run | ratio / difference | goal |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const row of res.connect?.rows ?? []) {
    lines.push(
      `| google-connect, c=${row.concurrency} | ${row.connect.rps} req/s, p50 ${row.connect.p50} ` +
        `ms, p99 ${row.connect.p99} ms | insert-only function: ${row.baseline.rps} req/s, p50 ` +
        `${row.baseline.p50} ms, p99 ${row.baseline.p99} ms | ${row.throughput_ratio} × ` +
        `throughput | ≥ 0.8: ${mark(row.goal_met)} |`,
    );
  }
  for (const row of res.callback?.rows ?? []) {
    const s = row.floor.step_p50;
    const goal = row.concurrency === 1 ? `< 2 ms: ${mark(row.goal_met)}` : "(reported)";
    lines.push(
      `| google-callback, c=${row.concurrency} | p50 ${row.callback.p50} ms, p99 ` +
        `${row.callback.p99} ms | its round trips: p50 ${row.floor.p50} ms (hop ` +
        `${s.gateway_hop} + delete ${s.delete_returning} + token ${s.token_endpoint} + upsert ` +
        `${s.upsert}) | own time p50 ${row.own_time_p50_ms} ms | ${goal} |`,
    );
  }
  const a = res.access_token;
  if (a) {
    lines.push(
      `| getGoogleAccessToken, valid token | p50 ${a.getGoogleAccessToken.p50} ms, p99 ` +
        `${a.getGoogleAccessToken.p99} ms | supabase-js select: p50 ${a.plain_select.p50} ms, ` +
        `p99 ${a.plain_select.p99} ms | p50 ${a.p50_ratio} ×, p99 ${a.p99_ratio} × | ≤ 1.15: ` +
        `${mark(a.goal_met)} |`,
    );
  }
  const st = res.refresh_storm;
  if (st) {
    lines.push(
      `| refresh storm, ${st.callers} callers in ${st.processes} processes | grants ` +
        `${st.refresh_grants.join(", ")}; wait p50 ${st.wait_p50} ms, p99 ${st.wait_p99} ms ` +
        `| bare refresh p50 ${st.bare_refresh_p50} ms | p99 wait ${st.p99_ratio} × | 1 grant: ` +
        `${mark(st.goal_met)} |`,
    );
  }
  const cold = res.cold_start?.rows ?? [];
  if (cold.length > 2) {
    const [empty, sbjs] = [cold[0]!, cold[1]!];
    for (const row of cold.slice(2)) {
      lines.push(
        `| cold start ${row.name} | ${row.ms} ms | empty ${empty.ms} ms, supabase-js only ` +
          `${sbjs.ms} ms | ${row.vs_supabase_js} × supabase-js | ≤ 1.3: ${mark(row.goal_met)} |`,
      );
    }
  }
  const mem = res.memory?.rows ?? [];
  const memBase = mem.find((r) => r.name === "bench-baseline-insert");
  for (const row of mem) {
    if (row.name.startsWith("bench-")) continue;
    lines.push(
      `| memory ${row.name} | RSS ${row.rss_after_100_mb} → ${row.rss_after_1000_mb} → ` +
        `${row.rss_after_all_mb} MB after 100 → 1,000 → ${row.requests} requests | ` +
        (memBase
          ? `insert-only function: ${memBase.rss_after_100_mb} → ${memBase.rss_after_1000_mb} → ` +
            `${memBase.rss_after_all_mb} MB`
          : "") +
        ` | ${sign(row.growth_mb)} MB (${row.growth_ratio} ×) | (reported) |`,
    );
  }
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------

await Deno.mkdir(OUT_DIR, { recursive: true });
await Deno.remove(STACK_DIR, { recursive: true }).catch(() => {});
const machine = await machineInfo();
log(`machine: ${machine.nproc} × ${machine.cpu}, Deno ${machine.deno}${QUICK ? " (quick)" : ""}`);
log("starting a private stack in .local/bench-stack");
const stack = await startStack({
  dir: STACK_DIR,
  ports: "auto",
  extraFunctionDirs: ["local/bench/functions"],
});
let exitCode = 0;
try {
  const key = stack.info.service_role_key;
  const env: Env = {
    stack,
    serviceHeaders: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    restHeaders: { apikey: key, authorization: `Bearer ${key}` },
  };
  const [tokenUser] = await createUsers(stack.info.db_url, 1, "bench-token");
  await connectFully(env, tokenUser!);

  const results: Results = { machine, quick: QUICK, runs_per_figure: PLAN.runs };
  let usedCallbackUrls: string[] = [];
  if (runs("connect")) {
    log("google-connect against the insert-only baseline");
    results.connect = await benchConnect(env);
  }
  if (runs("callback")) {
    log("google-callback against its round trips");
    const { usedCallbackUrls: used, ...callback } = await benchCallback(env);
    results.callback = callback;
    usedCallbackUrls = used;
  }
  if (runs("access_token")) {
    log("getGoogleAccessToken against a plain select");
    results.access_token = await benchAccessToken(env, tokenUser!);
  }
  if (runs("storm")) {
    log("refresh storm");
    results.refresh_storm = await benchStorm(env, tokenUser!);
  }
  if (runs("cold")) {
    log("cold start");
    results.cold_start = await benchColdStart(env);
  }
  if (runs("memory")) {
    log("memory");
    const idleUsers = await createUsers(stack.info.db_url, CONNECT_USERS, "bench-memory");
    if (usedCallbackUrls.length === 0) {
      // Without the callback phase: links used once now, so that every replay is "expired".
      const users = await createUsers(stack.info.db_url, 64, "bench-replay");
      usedCallbackUrls = await pool(users, 8, async (id) => {
        const url = await preparedCallback(env, id);
        await (await fetch(url, { redirect: "manual" })).body?.cancel();
        return url;
      });
    }
    results.memory = await benchMemory(env, {
      connectedUser: tokenUser!,
      idleUsers,
      usedCallbackUrls,
    });
  }
  results.finished_at = new Date().toISOString();
  results.duration_s = Math.round((performance.now() - benchStart) / 1000);
  if (FUNCTIONS_DIR !== "supabase/functions") results.functions_dir = FUNCTIONS_DIR;

  const table = markdown(results);
  // Only a whole run with the real functions replaces the results the README quotes.
  const name = ONLY || FUNCTIONS_DIR !== "supabase/functions" ? "results-partial" : "results";
  await Deno.writeTextFile(`${OUT_DIR}/${name}.json`, JSON.stringify(results, null, 2) + "\n");
  await Deno.writeTextFile(`${OUT_DIR}/${name}.md`, table);
  console.log(table);
  console.log(`Written to ${OUT_DIR}/${name}.json and ${OUT_DIR}/${name}.md`);
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await stack.stop();
}
Deno.exit(exitCode);
