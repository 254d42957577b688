/**
 * Push notifications (issue 23):
 * - a change at Google (an event created through the emulator's controls) → the bot's receiver
 *   answered 2xx for its events_changed, p50/p99, one user at a time and 16 users at once;
 * - google-calendar-push throughput (a verified `sync` message of a known channel: the lookup,
 *   the hash, the constant-time compare) against bench-empty at 16 clients: goal ≥ 0.8×;
 * - finding due renewals (google_calendar_channel_claim_renewals' statement, EXPLAIN ANALYZE in
 *   a rolled-back transaction) at 1M channels against 10k: goal ≤ 1.5×.
 */

import { hashChannelToken } from "../../../supabase/functions/_google_calendar/push_channels.ts";
import { psql, queryRows } from "../../stack/postgres.ts";
import { median, percentile, round } from "../../stats.ts";
import { type BenchContext, createUsers, load, log, type PhaseResult } from "../context.ts";
import { connectFully } from "../flows.ts";
import type { LoadResult, Step } from "../load_client.ts";
import { mark, type TableRow } from "../report.ts";

/** Its value for --only. */
export const name = "push";
/** Its key in results.json. */
export const key = "push";
/** The log line when it starts. */
export const title = "push notifications: change → bot, push endpoint, due renewals";

/** Runs the three measurements. */
export async function run(ctx: BenchContext): Promise<PhaseResult> {
  const latency = await changeToBot(ctx);
  const throughput = await pushThroughput(ctx);
  const renewals = await dueRenewals(ctx);
  const rows: TableRow[] = [
    ...latency.map((l) => ({
      figure: `change at Google → bot 2xx, ${l.users} user(s) at once`,
      measured: `p50 ${l.p50} ms, p99 ${l.p99} ms`,
      baseline: `${l.changes} changes`,
      ratio: "",
      goal: "",
    })),
    {
      figure: "google-calendar-push throughput, c=16",
      measured: `${throughput.push.rps} rps (p50 ${throughput.push.p50} ms)`,
      baseline: `bench-empty ${throughput.empty.rps} rps`,
      ratio: `${throughput.ratio} ×`,
      goal: `≥ 0.8: ${mark(throughput.ratio >= 0.8)}`,
    },
    {
      figure: "finding due renewals, 1M vs 10k channels",
      measured: `${renewals.ms[renewals.sizes.at(-1)!]} ms`,
      baseline: `${renewals.ms[renewals.sizes[0]!]} ms at ${renewals.sizes[0]}`,
      ratio: `${renewals.ratio} ×`,
      goal: `≤ 1.5: ${mark(renewals.ratio <= 1.5)}`,
    },
  ];
  return { section: { latency, throughput, renewals }, rows };
}

/** The receiver's deliveries for a user: when each events_changed arrived, with its events. */
async function arrivals(
  receiverUrl: string,
  userId: string,
): Promise<{ at: number; ids: string[] }[]> {
  const res = await fetch(new URL(`/__test/deliveries?user_id=${userId}`, receiverUrl));
  const got = await res.json() as { body: string; answered: number; received_at: string }[];
  return got.filter((d) => d.answered < 300 && d.body.includes("events_changed")).map((d) => ({
    at: Date.parse(d.received_at),
    ids: (JSON.parse(d.body).data.events as { id: string }[]).map((e) => e.id),
  }));
}

/** Change at Google → receiver 2xx, for 1 and for 16 users changing at once. */
async function changeToBot(ctx: BenchContext) {
  const info = ctx.stack.info;
  const receiverUrl = ctx.webhookReceiverUrl;
  const users = await connectWatched(ctx, 16);
  const out = [];
  for (const group of [1, 16]) {
    const times: number[] = [];
    const rounds = ctx.plan.runs * (group === 1 ? 10 : 2);
    for (let r = 0; r < rounds; r++) {
      await Promise.all(
        users.slice(0, group).map(async ({ id, google }) => {
          const start = Date.now();
          const event = await control(info.google_emulator_url, "calendar/events", {
            email: google,
            event: {
              summary: `bench ${r}`,
              start: { dateTime: new Date(start + 86_400_000).toISOString() },
              end: { dateTime: new Date(start + 90_000_000).toISOString() },
            },
          }) as { id: string };
          for (let waited = 0; waited < 30_000; waited += 20) {
            const hit = (await arrivals(receiverUrl, id)).find((a) => a.ids.includes(event.id));
            if (hit) {
              times.push(hit.at - start);
              return;
            }
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          throw new Error(`no events_changed for ${event.id} within 30 s`);
        }),
      );
    }
    times.sort((a, b) => a - b);
    const row = {
      users: group,
      changes: times.length,
      p50: round(percentile(times, 50), 1),
      p99: round(percentile(times, 99), 1),
    };
    log(`  change → bot, ${group} user(s): p50 ${row.p50} ms, p99 ${row.p99} ms`);
    out.push(row);
  }
  return out;
}

/** `n` users connected through the consent flow, each with an active channel and a token. */
async function connectWatched(ctx: BenchContext, n: number) {
  const users: { id: string; google: string }[] = [];
  for (const id of await createUsers(ctx, n, "bench-push")) {
    await connectFully(ctx, id);
    const [google] = await queryRows(
      ctx.stack.info.db_url,
      `select google_email from public.google_calendar_tokens where user_id = :'u'`,
      { u: id },
    );
    users.push({ id, google: google! });
  }
  for (const { id } of users) {
    for (let waited = 0;; waited += 50) {
      const [ready] = await queryRows(
        ctx.stack.info.db_url,
        `select 1 from public.google_calendar_sync_state where user_id = :'u'
           and sync_token is not null and requested_at is null`,
        { u: id },
      );
      if (ready) break;
      if (waited > 30_000) throw new Error(`user ${id}: no channel and sync token`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return users;
}

async function control(base: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${base}/__emulator/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`emulator ${path} answered ${res.status}`);
  return await res.json();
}

/** Push endpoint throughput (a verified hello of a known channel) against bench-empty. */
async function pushThroughput(ctx: BenchContext) {
  const info = ctx.stack.info;
  const userId = await ctx.connectedUser();
  const channel = { id: crypto.randomUUID(), token: crypto.randomUUID() + crypto.randomUUID() };
  await queryRows(
    info.db_url,
    `select public.google_calendar_channel_begin(:'id', :'u', :'h');
     select public.google_calendar_channel_activate(:'id', :'u', 'bench-res', now() + interval '7 days',
       now() + interval '5 days');`,
    { id: channel.id, u: userId, h: await hashChannelToken(channel.token) },
  );
  const pushStep: Step = {
    url: `${info.functions_url}/google-calendar-push`,
    method: "POST",
    headers: {
      "x-goog-channel-id": channel.id,
      "x-goog-channel-token": channel.token,
      "x-goog-resource-id": "bench-res",
      "x-goog-resource-state": "sync",
      "x-goog-message-number": "1",
    },
    body: "",
    expect: [200],
    expectHeader: ["x-push-outcome", "hello"],
  };
  const emptyStep: Step = { url: `${info.functions_url}/bench-empty`, method: "POST", body: "" };
  const runs: Record<"push" | "empty", LoadResult[]> = { push: [], empty: [] };
  for (let r = 0; r < ctx.plan.runs; r++) {
    const order: ("push" | "empty")[] = r % 2 === 0 ? ["empty", "push"] : ["push", "empty"];
    for (const target of order) {
      runs[target].push(
        await load({
          jobs: [[target === "push" ? pushStep : emptyStep]],
          concurrency: 16,
          reuse: true,
          warmup: { ms: ctx.plan.connect.warmupMs },
          measure: { ms: ctx.plan.connect.measureMs },
        }),
      );
    }
  }
  const fig = (results: LoadResult[]) => ({
    rps: round(median(results.map((x) => x.rps)), 1),
    p50: round(median(results.map((x) => x.p50)), 2),
    p99: round(median(results.map((x) => x.p99)), 2),
    errors: results.reduce((n, x) => n + x.errors, 0),
  });
  const push = fig(runs.push);
  const empty = fig(runs.empty);
  const ratio = round(push.rps / empty.rps, 3);
  log(`  push ${push.rps} rps, empty ${empty.rps} rps → ${ratio}`);
  return { push, empty, ratio };
}

/** The due-renewal claim's statement, timed at 10k and at 1M channels. */
async function dueRenewals(ctx: BenchContext) {
  const db = ctx.stack.info.db_url;
  const sizes = ctx.plan.push.renewalSizes;
  const ms: Record<number, number> = {};
  let seeded = 0;
  try {
    for (const size of sizes) {
      await psql(db, [], seedChannels(seeded, size - seeded));
      seeded = size;
      await psql(db, [], "analyze public.google_calendar_channels;");
      const one = `begin;\nexplain (analyze, format json) ${CLAIM};\nrollback;\n`;
      const text = await psql(db, [], one.repeat(ctx.plan.push.repeats + 1));
      const times = [...text.matchAll(/"Execution Time": ([\d.]+)/g)].map((m) => Number(m[1]));
      ms[size] = round(median(times.slice(1)), 3);
      log(`  due renewals at ${size} channels: ${ms[size]} ms`);
    }
  } finally {
    await psql(
      db,
      [],
      "delete from public.google_calendar_channels where google_sub like 'bench-%';",
    );
  }
  return {
    sizes,
    ms,
    ratio: round(ms[sizes.at(-1)!]! / ms[sizes[0]!]!, 2),
  };
}

/** The statement of google_calendar_channel_claim_renewals, with its arguments bound. */
const CLAIM = `with due as (
    select c.id from public.google_calendar_channels c
    where c.state = 'active' and c.renew_at <= now()
      and (c.renew_lease_until is null or c.renew_lease_until < now())
    order by c.renew_at
    limit 100
    for update of c skip locked
  )
  update public.google_calendar_channels g
  set renew_lease_id = gen_random_uuid(),
      renew_lease_until = now() + make_interval(secs => 40),
      renew_attempts = g.renew_attempts + 1
  from due d
  where g.id = d.id
  returning g.id, g.user_id, g.expiration, g.renew_attempts, g.renew_lease_id`;

/**
 * `n` synthetic channels after the first `offset`: one active per synthetic user, renewals
 * spread over a week with 1 % due now (the same share at every size), 2 % replaced.
 */
function seedChannels(offset: number, n: number): string {
  return `insert into public.google_calendar_channels
    (id, user_id, google_sub, token_hash, resource_id, expiration, state, renew_at)
  select gen_random_uuid(), gen_random_uuid(), 'bench-' || i, repeat('0', 64), 'r' || i,
    now() + interval '7 days',
    case when i % 50 = 0 then 'replaced' else 'active' end,
    now() + make_interval(secs => case when i % 100 = 1 then -60 else 1 + (i::bigint * 7919 % 604800) end)
  from generate_series(${offset + 1}, ${offset + n}) i;`;
}
