/**
 * google-maintenance at scale (issue 13). Seeds synthetic connected rows (10k, 100k, 1M by
 * default; `--maintenance-sizes=` to change) with valid ciphertexts (each row's own JWE, bound to
 * its user id, under the stack's key), then:
 *
 * - times the queries a pass uses to find its work (keep-alive claim, expiring, expired,
 *   revocation claim, re-wrap batch, key counts, due report) at each size, each with EXPLAIN
 *   ANALYZE inside a rolled-back transaction, median of several; goal: 1M within 1.5 × 10k;
 * - keep-alive refreshes per second: passes of the real function (default budget 200) over rows
 *   whose refresh tokens are the emulator's bulk grants;
 * - re-wraps per second: passes of a google-maintenance process whose key ring puts a new key in
 *   front of the rows' old one (budget 0, so it only re-wraps).
 *
 * The seeded shape is the same at every size in what a pass looks for: 5 % of rows are due for
 * keep-alive (more than one pass takes), 1 % are time-limited and lapse 10-60 days out, and a
 * fixed 50 lapse within 48 h and 20 have lapsed (seeded once, with the first size).
 */

import { base64url } from "jose";
import { serveFunction } from "../../stack/functions.ts";
import { psql, queryRows } from "../../stack/postgres.ts";
import { median, round } from "../../stats.ts";
import { type BenchContext, log, type PhaseResult } from "../context.ts";
import { mark } from "../report.ts";
import type { PassReport } from "../../../supabase/functions/google-maintenance/report.ts";

/** Its value for --only. */
export const name = "maintenance";
/** Its key in results.json. */
export const key = "maintenance";
/** The log line when it starts. */
export const title = "google-maintenance: finding due rows at each size, keep-alive, re-wrap";

/** The queries a pass runs to find its work, as the pass calls them. */
const FIND_QUERIES: Record<string, (currentKid: string) => string> = {
  keepalive_claim: () =>
    `select count(*) from public.google_maintenance_claim_keepalive(
       now() - interval '30 days', 10, gen_random_uuid(), 30, '{}')`,
  expiring: () =>
    `select count(*) from public.google_maintenance_mark_expiring(
       now() + interval '48 hours', 1000, false)`,
  expired: () => `select count(*) from public.google_maintenance_expired_grants(1000)`,
  revocation_claim: () => `select count(*) from public.google_calendar_revocation_claim(10, 6)`,
  rewrap_batch: (kid) =>
    `select count(*) from public.google_maintenance_rewrap_batch('${kid}', 200)`,
  key_counts: (kid) => `select count(*) from public.google_maintenance_key_counts('${kid}')`,
  due: () => `select public.google_maintenance_due()`,
};

const GOAL_RATIO = 1.5;

/** Runs the phase; see the module comment. */
export async function run(ctx: BenchContext): Promise<PhaseResult> {
  const plan = ctx.plan.maintenance;
  const db = ctx.stack.info.db_url;
  const env = ctx.stack.info.function_env;
  const stackKey = parseKey(env.TOKEN_ENCRYPTION_KEY!.split(",")[0]!);
  const sizes = [...plan.sizes].sort((a, b) => a - b);

  // Start from an empty table: the bench's other phases may have left a few rows.
  await psql(db, ["-c", "delete from public.google_calendar_tokens"]);
  await psql(db, ["-c", "delete from public.google_calendar_revocations"]);

  const find: Record<string, Record<string, number>> = {};
  const seedSeconds: Record<string, number> = {};
  let seeded = 0;
  for (const size of sizes) {
    const started = performance.now();
    await seedRows(db, stackKey, seeded, size - seeded, { shaped: true });
    if (seeded === 0) await seedFixedDue(db);
    seeded = size;
    await psql(db, ["-c", "vacuum analyze public.google_calendar_tokens"]);
    seedSeconds[size] = round((performance.now() - started) / 1000, 1);
    log(`  seeded ${size} rows (${seedSeconds[size]} s); timing the find queries`);
    find[size] = await timeFindQueries(db, stackKey.kid, plan.repeats);
    log(`  ${size} rows: ${JSON.stringify(find[size])}`);
  }

  const keepalive = await keepaliveRate(ctx, stackKey, plan.keepaliveGrants, plan.keepalivePasses);
  const rewrap = await rewrapRate(ctx, stackKey, plan.rewrapRows);

  const smallest = sizes[0]!;
  const largest = sizes[sizes.length - 1]!;
  const total = (size: number) => round(Object.values(find[size]!).reduce((a, b) => a + b, 0), 3);
  const ratio = round(total(largest) / total(smallest), 2);
  const perQueryRatios = Object.fromEntries(
    Object.keys(FIND_QUERIES).map((
      q,
    ) => [q, round(find[largest]![q]! / Math.max(find[smallest]![q]!, 0.001), 2)]),
  );
  const goalMet = ratio <= GOAL_RATIO;
  const passesFor1M = Math.ceil(1_000_000 / 200);
  const section = {
    sizes,
    seed_seconds: seedSeconds,
    find_ms_median: find,
    find_total_ms: Object.fromEntries(sizes.map((s) => [s, total(s)])),
    ratio_largest_to_smallest: ratio,
    per_query_ratio: perQueryRatios,
    goal: `finding a pass's due rows at ${largest} rows ≤ ${GOAL_RATIO} × at ${smallest}`,
    goal_met: goalMet,
    keepalive,
    rewrap,
    coverage: {
      users: 1_000_000,
      budget_per_pass: 200,
      passes: passesFor1M,
      days_at_one_pass_per_minute: round(passesFor1M / (24 * 60), 1),
      days_at_one_pass_per_5_minutes: round((passesFor1M * 5) / (24 * 60), 1),
    },
  };
  return {
    section,
    rows: [
      {
        figure: "maintenance: find a pass's due rows (7 queries, median each, summed)",
        measured: sizes.map((s) => `${s}: ${total(s)} ms`).join(", "),
        baseline: `${smallest} rows`,
        ratio: `${ratio} ×`,
        goal: `≤ ${GOAL_RATIO}: ${mark(goalMet)}`,
      },
      {
        figure: "maintenance: keep-alive refreshes against the emulator (default budget 200)",
        measured: `${keepalive.refreshes_per_second}/s; a pass of ${keepalive.per_pass} takes ` +
          `${keepalive.pass_ms_median} ms (CPU ${keepalive.cpu_ms_median} ms)`,
        baseline: "—",
        ratio: "—",
        goal: `1M users = ${passesFor1M} passes: ` +
          `${section.coverage.days_at_one_pass_per_5_minutes} days at 1 per 5 min`,
      },
      {
        figure: "maintenance: key re-wrap (access + refresh token per row)",
        measured: `${rewrap.rewraps_per_second}/s; ${rewrap.per_pass} rows per pass in ` +
          `${rewrap.pass_ms_median} ms (CPU ${rewrap.cpu_ms_median} ms)`,
        baseline: "—",
        ratio: "—",
        goal: `0 rows under the old key after ${rewrap.passes} passes: ${
          mark(rewrap.old_key_rows_after === 0)
        }`,
      },
    ],
  };
}

interface RawKey {
  kid: string;
  raw: Uint8Array<ArrayBuffer>;
  key?: CryptoKey;
}

/** One `kid:base64url` entry of TOKEN_ENCRYPTION_KEY. */
function parseKey(spec: string): RawKey {
  const [kid, b64] = spec.split(":");
  return { kid: kid!, raw: base64url.decode(b64!) as Uint8Array<ArrayBuffer> };
}

async function cryptoKey(k: RawKey): Promise<CryptoKey> {
  return k.key ??= await crypto.subtle.importKey("raw", k.raw, "AES-GCM", false, ["encrypt"]);
}

const encoder = new TextEncoder();

/**
 * The same compact JWE as token_crypto.encryptToken (dir, A256GCM, kid/uid/fld in the protected
 * header, which is the AEAD's associated data), written with WebCrypto directly: 3 × faster than
 * through jose, which matters for 2M ciphertexts. The functions decrypt it like their own.
 */
async function jwe(k: RawKey, uid: string, fld: string, plaintext: string): Promise<string> {
  const header = base64url.encode(
    JSON.stringify({ alg: "dir", enc: "A256GCM", kid: k.kid, uid, fld }),
  );
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(header), tagLength: 128 },
      await cryptoKey(k),
      encoder.encode(plaintext),
    ),
  );
  const tag = sealed.length - 16;
  return `${header}..${base64url.encode(iv)}.${base64url.encode(sealed.subarray(0, tag))}.${
    base64url.encode(sealed.subarray(tag))
  }`;
}

const SCOPES = "{openid,email,https://www.googleapis.com/auth/calendar.events}";
const CHUNK = 20_000;

/**
 * Seeds `count` users and their grants, `CHUNK` at a time, through COPY. With `shaped`, the
 * mix of the module comment; else every row gets `usedDaysAgo`. `refreshToken(i)` names row
 * i's refresh token (default: a synthetic one Google never issued).
 */
async function seedRows(
  db: string,
  k: RawKey,
  offset: number,
  count: number,
  options: {
    shaped?: boolean;
    usedDaysAgo?: number;
    refreshToken?: (i: number) => string;
    email?: (i: number) => string;
  },
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += CHUNK) {
    const n = Math.min(CHUNK, count - start);
    const rows = await Promise.all(Array.from({ length: n }, async (_, j) => {
      const i = start + j;
      const serial = offset + i;
      const id = crypto.randomUUID();
      const refresh = options.refreshToken?.(i) ?? `1//bench.${serial}`;
      const [access, refreshCt] = await Promise.all([
        jwe(k, id, "access_token", `ya29.bench.${serial}`),
        jwe(k, id, "refresh_token", refresh),
      ]);
      let usedDaysAgo = options.usedDaysAgo ?? 0;
      let expiresInDays: number | null = null;
      if (options.shaped) {
        // 5 % due (31-60 days unused), the rest used within the last 29 days.
        usedDaysAgo = serial % 20 === 0 ? 31 + (serial % 29) : (serial % 29) + (serial % 7) / 7;
        // 1 % time-limited, lapsing 10-60 days out.
        if (serial % 100 === 1) expiresInDays = 10 + (serial % 50);
      }
      const email = options.email?.(i) ?? `bench-${serial}@example.com`;
      return {
        id,
        email,
        access,
        refreshCt,
        usedDaysAgo,
        expiresInDays,
        sub: String(1e20 + serial),
      };
    }));
    const now = Date.now();
    const users = rows.map((r) => `${r.id},${r.email}`).join("\n");
    const grants = rows.map((r) =>
      [
        r.id,
        r.access,
        r.refreshCt,
        new Date(now + 3000_000).toISOString(),
        `"${SCOPES}"`,
        r.sub,
        r.email,
        new Date(now - r.usedDaysAgo * 86_400_000).toISOString(),
        r.expiresInDays === null ? "" : new Date(now + r.expiresInDays * 86_400_000).toISOString(),
      ].join(",")
    ).join("\n");
    await psql(
      db,
      [],
      `begin;
copy auth.users (id, email) from stdin with (format csv);
${users}
\\.
copy public.google_calendar_tokens (user_id, access_token, refresh_token, token_expiry, scopes,
  google_sub, google_email, refresh_token_used_at, refresh_token_expires_at)
  from stdin with (format csv);
${grants}
\\.
commit;
`,
    );
    ids.push(...rows.map((r) => r.id));
  }
  return ids;
}

/** 50 grants lapsing within 48 h and 20 lapsed: the same at every size. */
async function seedFixedDue(db: string): Promise<void> {
  await psql(db, [
    "-c",
    `with picked as (
       select user_id, row_number() over (order by user_id) n from public.google_calendar_tokens
       where refresh_token_expires_at is null limit 70)
     update public.google_calendar_tokens t
        set refresh_token_expires_at = case when p.n <= 50
          then now() + make_interval(hours => (p.n % 40)::int + 1)
          else now() - make_interval(hours => (p.n % 10)::int + 1) end
       from picked p where t.user_id = p.user_id`,
  ]);
}

/** Median EXPLAIN ANALYZE execution time of each find query, each in a rolled-back transaction. */
async function timeFindQueries(
  db: string,
  kid: string,
  repeats: number,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [query, sql] of Object.entries(FIND_QUERIES)) {
    const one = `begin;\nexplain (analyze, format json) ${sql(kid)};\nrollback;\n`;
    // One warm-up, then `repeats` timed, in one session (as a pass's connection would be).
    const text = await psql(db, [], one.repeat(repeats + 1));
    const times = [...text.matchAll(/"Execution Time": ([\d.]+)/g)].map((m) => Number(m[1]));
    out[query] = round(median(times.slice(1)), 3);
  }
  return out;
}

/** POSTs google-maintenance at `url` with the service key. */
async function pass(ctx: BenchContext, url: string): Promise<PassReport> {
  const res = await fetch(url, { method: "POST", headers: ctx.serviceHeaders });
  const report = await res.json() as PassReport;
  if (!report.tasks) throw new Error(`google-maintenance answered ${res.status}`);
  return report;
}

/** Keep-alive against the emulator: the oldest rows' refresh tokens are its bulk grants. */
async function keepaliveRate(ctx: BenchContext, k: RawKey, grants: number, passes: number) {
  const info = ctx.stack.info;
  const res = await fetch(`${info.google_emulator_url}/__emulator/grants/bulk`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ count: grants, includeTokens: false }),
  });
  const batch = await res.json() as {
    batch: string;
    refreshTokenFormat: string;
    emailFormat: string;
  };
  if (!res.ok) throw new Error(`emulator grants/bulk answered ${res.status}`);
  const offset = Number(
    (await queryRows(info.db_url, "select count(*) from public.google_calendar_tokens"))[0],
  );
  // Older than every shaped row, so the passes claim these first.
  await seedRows(info.db_url, k, offset, grants, {
    usedDaysAgo: 200,
    refreshToken: (i) => batch.refreshTokenFormat.replace("{index}", String(i)),
    email: (i) => batch.emailFormat.replace("{index}", String(i)),
  });
  const url = `${info.functions_url}/google-maintenance`;
  const reports: PassReport[] = [];
  for (let i = 0; i < passes; i++) reports.push(await pass(ctx, url));
  const refreshed = reports.reduce((a, r) => a + r.tasks.keepalive.refreshed, 0);
  const keepaliveMs = reports.reduce((a, r) => a + (r.task_ms.keepalive ?? 0), 0);
  const result = {
    grants,
    passes,
    refreshed,
    lost: reports.reduce((a, r) => a + r.tasks.keepalive.reconnect_required, 0),
    transient: reports.reduce((a, r) => a + r.tasks.keepalive.transient, 0),
    per_pass: median(reports.map((r) => r.tasks.keepalive.refreshed)),
    pass_ms_median: median(reports.map((r) => r.duration_ms)),
    cpu_ms_median: median(reports.map((r) => r.cpu_ms ?? 0)),
    db_ms_median: median(reports.map((r) => r.database.ms)),
    refreshes_per_second: round(refreshed / (keepaliveMs / 1000), 1),
    task_ms: reports.map((r) => r.task_ms),
  };
  log(`  keep-alive: ${JSON.stringify({ ...result, task_ms: undefined })}`);
  return result;
}

/** Re-wrap: `rows` under an old key, re-wrapped by a process whose ring puts a new key first. */
async function rewrapRate(ctx: BenchContext, stackKey: RawKey, rows: number) {
  const info = ctx.stack.info;
  const oldRaw = crypto.getRandomValues(new Uint8Array(32));
  const oldKey = parseKey(`bench-old:${base64url.encode(oldRaw)}`);
  const offset = Number(
    (await queryRows(info.db_url, "select count(*) from public.google_calendar_tokens"))[0],
  );
  await seedRows(info.db_url, oldKey, offset, rows, { usedDaysAgo: 1 });
  const logDir = `${info.stack_dir}/logs-bench-rewrap`;
  await Deno.mkdir(logDir, { recursive: true });
  const server = await serveFunction("google-maintenance", {
    env: {
      ...info.function_env,
      TOKEN_ENCRYPTION_KEY: `${stackKey.kid}:${base64url.encode(stackKey.raw)},bench-old:${
        base64url.encode(oldRaw)
      }`,
      MAINTENANCE_GOOGLE_CALL_BUDGET: "0",
    },
    logDir,
  });
  try {
    const url = `http://127.0.0.1:${server.port}/`;
    const reports: PassReport[] = [];
    for (;;) {
      const report = await pass(ctx, url);
      reports.push(report);
      if (report.keys.old_key_rows === 0 || report.tasks.rewrap.tokens === 0) break;
    }
    const rewrapped = reports.reduce((a, r) => a + r.tasks.rewrap.tokens, 0);
    const rewrapMs = reports.reduce((a, r) => a + (r.task_ms.rewrap ?? 0), 0);
    const busy = reports.filter((r) => r.tasks.rewrap.tokens > 0);
    const result = {
      rows,
      passes: busy.length,
      rewrapped,
      conflicts: reports.reduce((a, r) => a + r.tasks.rewrap.conflicts, 0),
      per_pass: median(busy.map((r) => r.tasks.rewrap.tokens)),
      pass_ms_median: median(busy.map((r) => r.duration_ms)),
      cpu_ms_median: median(busy.map((r) => r.cpu_ms ?? 0)),
      rewraps_per_second: round(rewrapped / (rewrapMs / 1000), 1),
      old_key_rows_after: reports[reports.length - 1]!.keys.old_key_rows,
    };
    log(`  re-wrap: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await server.stop();
  }
}
