/**
 * The outbox at its edges (issue 21):
 * - one claim (`google_calendar_webhook_claim`, the maintenance pass's) with a backlog of N events
 *   of one user behind a leased head, beside 100 other users' due heads. Goal ≤ 1 s at 100k. The
 *   baseline is the claim as it was before (the landed migration's text, run as a temporary
 *   function), measured once: it walked the whole backlog;
 * - a user deleted from auth.users by SQL (no function involved) → the receiver's 2xx for its
 *   `google_calendar.disconnected`, p50/p99: the database's wake-up (pg_notify here, played by
 *   the stack as pg_net would), google-webhooks, the POST.
 */

import { queryRows } from "../../stack/postgres.ts";
import type { ReceivedDelivery } from "../../stack/webhook_receiver.ts";
import { median, round, summarize } from "../../stats.ts";
import { type BenchContext, createUsers, log, type PhaseResult } from "../context.ts";
import { mark, type TableRow } from "../report.ts";

/** Its value for --only. */
export const name = "outbox";
/** Its key in results.json. */
export const key = "outbox";
/** The log line when it starts. */
export const title = "outbox: a claim behind one user's backlog; deletion by SQL → bot's 2xx";

const OLD_CLAIM_MIGRATION = "supabase/migrations/20261125000200_webhook_outbox.sql";

/** Measures both figures; see the module comment. */
export async function run(ctx: BenchContext): Promise<PhaseResult> {
  const db = ctx.stack.info.db_url;
  const plan = ctx.plan.outbox;
  const rows: TableRow[] = [];
  const section: Record<string, unknown> = {};

  // 1. The claim behind a backlog.
  const [backlogUser] = await createUsers(ctx, 1, "bench-backlog");
  const others = await createUsers(ctx, 100, "bench-backlog-other");
  log(`  seeding ${plan.backlog} events of one user behind a leased head`);
  await queryRows(
    db,
    `insert into public.google_calendar_webhook_events
       (user_id, type, payload, next_attempt_at, lease_id, lease_until, attempts)
     values (:'u', 'google_calendar.connect_failed', '{}', now() - interval '1 day',
             gen_random_uuid(), now() + interval '1 hour', 1);
     insert into public.google_calendar_webhook_events (user_id, type, payload, next_attempt_at)
     select :'u', 'google_calendar.connect_failed', '{}', now() - interval '1 day'
     from generate_series(1, ${plan.backlog});
     -- Other users' heads, due later than the backlog (the old claim met the backlog first).
     insert into public.google_calendar_webhook_events (user_id, type, payload, next_attempt_at)
     select id, 'google_calendar.connect_failed', '{}', now() - interval '1 hour'
     from unnest(string_to_array(:'others', ',')::uuid[]) as id;
     analyze public.google_calendar_webhook_events;`,
    { u: backlogUser!, others: others.join(",") },
  );
  try {
    const timeClaim = async (fn: string): Promise<{ ms: number; claimed: number }> => {
      // Rolled back: every repeat meets the same backlog.
      const out = await queryRows(
        db,
        `begin;
         ${fn === "old" ? oldClaimFunction() : ""}
         create temp table t0 on commit drop as select clock_timestamp() as s;
         select count(*) from ${
          fn === "old" ? "pg_temp.old_claim" : "public.google_calendar_webhook_claim"
        }(8, 30);
         select extract(epoch from clock_timestamp() - s) * 1000 from t0;
         rollback;`,
      );
      const [claimed, ms] = out.slice(-2).map(Number);
      return { ms: ms!, claimed: claimed! };
    };
    const samples: number[] = [];
    let claimed = 0;
    for (let i = 0; i < plan.claimRepeats; i++) {
      const r = await timeClaim("new");
      samples.push(r.ms);
      claimed = r.claimed;
    }
    const now = summarize(samples, 1);
    log(
      `  claim behind ${plan.backlog}: p50 ${now.p50} ms, max ${now.max} ms (${claimed} claimed)`,
    );
    const before = await timeClaim("old");
    log(`  the claim as it was: ${round(before.ms, 1)} ms (${before.claimed} claimed)`);
    section.claim = {
      backlog: plan.backlog,
      other_users: others.length,
      repeats: plan.claimRepeats,
      ms: now,
      claimed,
      before_ms: round(before.ms, 1),
    };
    rows.push({
      figure: `webhook claim, ${plan.backlog} events of one user behind a leased head`,
      measured: `p50 ${now.p50} ms, max ${now.max} ms (${claimed} other heads claimed)`,
      baseline: `the claim before: ${round(before.ms, 1)} ms`,
      ratio: `${round(before.ms / Math.max(now.p50, 0.1), 0)}× faster`,
      goal: `≤ 1 s: ${mark(now.max <= 1000)}`,
    });
  } finally {
    await queryRows(
      db,
      `delete from public.google_calendar_webhook_events
        where user_id = any(string_to_array(:'ids', ',')::uuid[]);
       delete from auth.users where id = any(string_to_array(:'ids', ',')::uuid[]);
       analyze public.google_calendar_webhook_events;`,
      { ids: [backlogUser!, ...others].join(",") },
    );
  }

  // 2. Deletion by SQL → the bot's 2xx.
  const receiverUrl = ctx.webhookReceiverUrl;
  const users = await createUsers(ctx, plan.deletions, "bench-wake");
  // A stored grant each (ciphertext-shaped; never decrypted here), written by SQL like the rest:
  // its connected event is woken and delivered too, before the deletions start.
  await queryRows(
    db,
    `update public.google_calendar_webhook_settings set enabled = true;
     insert into public.google_calendar_tokens (user_id, access_token, refresh_token, scopes,
       google_sub, google_email)
     select id, 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoiYmVuY2gifQ..aXY.YQ.dGFn',
       'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoiYmVuY2gifQ..aXY.cg.dGFn',
       array['https://www.googleapis.com/auth/calendar.events'], 'bench-' || id, 'b@example.com'
     from unnest(string_to_array(:'ids', ',')::uuid[]) as id;`,
    { ids: users.join(",") },
  );
  await waitForDeliveries(receiverUrl, users, "google_calendar.connected", 60_000);
  const delays: number[] = [];
  for (const user of users) {
    const [createdMs] = await queryRows(
      db,
      `delete from auth.users where id = :'id';
       select extract(epoch from created_at) * 1000 from public.google_calendar_webhook_events
        where user_id = :'id' and type = 'google_calendar.disconnected';`,
      { id: user },
    );
    const [got] = await waitForDeliveries(
      receiverUrl,
      [user],
      "google_calendar.disconnected",
      30_000,
    );
    if (got) delays.push(Date.parse(got.received_at) - Number(createdMs));
    // Deletions a moment apart, each its own wake-up (a burst would share one).
    await new Promise((r) => setTimeout(r, 100));
  }
  // The deletions queued their fake refresh tokens for revocation: not the maintenance phase's.
  await queryRows(
    db,
    "delete from public.google_calendar_revocations where user_id = any(string_to_array(:'ids', ',')::uuid[])",
    { ids: users.join(",") },
  );
  const d = summarize(delays, 1);
  log(`  deletion → receiver 2xx: p50 ${d.p50} ms, p99 ${d.p99} ms (${delays.length} users)`);
  section.deletion_to_2xx_ms = { deletions: users.length, delivered: delays.length, ...d };
  rows.push({
    figure: "user deleted by SQL → receiver's 2xx (disconnected)",
    measured: `p50 ${d.p50} ms, p99 ${d.p99} ms (${delays.length}/${users.length})`,
    baseline: "before: the next maintenance pass (up to 300 s)",
    ratio: "",
    goal: `within seconds: ${mark(delays.length === users.length && d.p99 < 5000)}`,
  });
  section.median_ms = round(median(delays), 1);
  return { section, rows };
}

/** The claim as the landed migration defined it, as `pg_temp.old_claim`. */
function oldClaimFunction(): string {
  const text = Deno.readTextFileSync(OLD_CLAIM_MIGRATION);
  const start = text.indexOf("create function public.google_calendar_webhook_claim(");
  const end = text.indexOf("$$;", start) + 3;
  return text.slice(start, end).replace(
    "create function public.google_calendar_webhook_claim(",
    "create function pg_temp.old_claim(",
  );
}

/** Waits until each of `userIds` has a 2xx delivery of `type`; returns them. */
async function waitForDeliveries(
  receiverUrl: string,
  userIds: string[],
  type: string,
  timeoutMs: number,
): Promise<ReceivedDelivery[]> {
  const deadline = Date.now() + timeoutMs;
  const wanted = new Set(userIds);
  for (;;) {
    const res = await fetch(new URL("/__test/deliveries", receiverUrl));
    const got = (await res.json() as ReceivedDelivery[]).filter((d) =>
      d.answered < 300 && d.user_id !== null && wanted.has(d.user_id) &&
      JSON.parse(d.body).type === type
    );
    if (got.length >= wanted.size || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 20));
  }
}
