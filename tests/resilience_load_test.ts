/**
 * Resilience under load (issue 5), on a private stack: 300 complete flows (connect, consent at
 * the emulator, callback) for distinct users at concurrency 50 through the gateway, then 2 × 200
 * concurrent getGoogleAccessToken calls over 4 processes on expiring tokens. Nothing may fail,
 * and afterwards every row decrypts to exactly its own user's tokens at the emulator.
 */

import assert from "node:assert/strict";
import { lazyPrivateStack, type PrivateStack, type TestUser } from "./support/private_stack.ts";
import { closeSuite } from "./support/resilience_report.ts";
import { pool } from "../supabase/functions/_google_calendar/async.ts";
import { summarize } from "../local/stats.ts";
import { DENO } from "../local/stack/tools.ts";

const FLOWS = 300;
const CONCURRENCY = 50;
const WORKERS = 4;
const REFRESH_USERS = 50; // each asked for by every worker: 4 × 50 = 200 concurrent calls
const EXPIRY_ROUNDS = 2;

const privateStack = lazyPrivateStack("load");
const opts = { sanitizeResources: false, sanitizeOps: false };

interface Connected {
  user: TestUser;
  google: string;
}

const connected: Connected[] = [];
/** Every state, code and token the suite handled: none may appear in a function's output. */
const seen = new Map<string, string>();
const figures: Record<string, unknown> = {};

Deno.test({
  name: "load: 300 complete flows for distinct users at concurrency 50, none failing",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const users = await s.createUsers(FLOWS, "load");
    const failures: string[] = [];
    const durations: number[] = [];
    const before = await s.stats();
    const start = performance.now();
    const outcomes = await pool(users, CONCURRENCY, async (user, i) => {
      const google = `load-${i}-${crypto.randomUUID().slice(0, 8)}@gmail.example`;
      const t0 = performance.now();
      try {
        const authUrl = await s.connectUrl(user.id);
        const callbackUrl = await s.consent(authUrl, { email: google });
        seen.set(`state ${i}`, authUrl.searchParams.get("state")!);
        seen.set(`code ${i}`, callbackUrl.searchParams.get("code")!);
        const answer = await s.callback(callbackUrl);
        if (answer.status !== 303 || answer.result !== "connected") {
          failures.push(`flow ${i}: ${answer.status} ${answer.result} ${answer.reason}`);
          return null;
        }
        durations.push(performance.now() - t0);
        return { user, google };
      } catch (error) {
        failures.push(`flow ${i}: ${error instanceof Error ? error.message : error}`);
        return null;
      }
    });
    const elapsed = performance.now() - start;
    for (const o of outcomes) if (o) connected.push(o);
    const after = await s.stats();

    figures.flows_attempted = FLOWS;
    figures.flows_completed = connected.length;
    figures.flow_concurrency = CONCURRENCY;
    figures.flows_per_second = Number((connected.length / (elapsed / 1000)).toFixed(1));
    figures.flow_ms = summarize(durations, 0);
    figures.flow_failures = failures.length;
    assert.deepEqual(failures, [], "failed flows");
    assert.deepEqual(connected.length, FLOWS);
    const codes = after.tokenGrants.authorization_code;
    const codesBefore = before.tokenGrants.authorization_code;
    assert.deepEqual(
      { ok: codes.ok - codesBefore.ok, error: codes.error - codesBefore.error },
      { ok: FLOWS, error: 0 },
      "one code exchange per flow at the emulator",
    );
    assert.deepEqual(await s.pendingFlowCount(), 0, "every pending flow was used exactly once");
  },
});

/**
 * Checks every connected user's row against the emulator: present, decrypting as that user's,
 * holding that user's Google account's live refresh token and latest access token. Returns the
 * problems found (one entry per bad row) and records rows_lost.
 */
async function verifyRows(s: PrivateStack, label: string): Promise<string[]> {
  const rows = await s.tokenRows();
  const problems: string[] = [];
  const refreshTokens = new Set<string>();
  await pool(connected, 20, async ({ user, google }, i) => {
    const row = rows.get(user.id);
    if (!row) return problems.push(`${user.id}: row lost`);
    let mine;
    try {
      mine = await s.decrypt(user.id, row);
    } catch {
      return problems.push(`${user.id}: row does not decrypt as this user's`);
    }
    const account = await s.account(google);
    seen.set(`access token ${label} ${i}`, mine.accessToken);
    seen.set(`refresh token ${i}`, mine.refreshToken);
    const wrong = [
      account.refreshTokens.length !== 1 && `${account.refreshTokens.length} refresh tokens`,
      mine.refreshToken !== account.refreshTokens[0]?.token && "another refresh token",
      mine.accessToken !== account.latestAccessToken?.token && "not the latest access token",
      (mine.googleEmail !== google || mine.googleSub !== account.sub) && "another account",
      refreshTokens.has(mine.refreshToken) && "a refresh token seen in another row",
    ].filter(Boolean);
    refreshTokens.add(mine.refreshToken);
    if (wrong.length) problems.push(`${user.id}: ${wrong.join(", ")}`);
  });
  const strangers = [...rows.keys()].filter((id) => !connected.some((c) => c.user.id === id));
  for (const id of strangers) problems.push(`${id}: a row for a user who never connected`);
  figures.rows_lost = Math.max(Number(figures.rows_lost ?? 0), problems.length);
  figures[`rows_verified_${label.replaceAll(" ", "_")}`] = connected.length - problems.length;
  return problems;
}

Deno.test({
  name: "load: every row decrypts to exactly its own user's emulator tokens",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    assert.deepEqual(connected.length, FLOWS, "the flows ran");
    assert.deepEqual(
      await verifyRows(s, "after flows"),
      [],
      "rows that are not exactly their user's",
    );
  },
});

interface WorkerResult {
  userId: string;
  token?: string;
  error?: string;
  ms: number;
}

Deno.test({
  name:
    "load: 200 concurrent getGoogleAccessToken calls over 4 processes refresh once per user per expiry",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    assert(connected.length >= REFRESH_USERS, "the flows ran");
    const targets = connected.slice(0, REFRESH_USERS);
    const ids = targets.map((t) => t.user.id);
    let calls = 0;
    let refreshes = 0;
    const latencies: number[] = [];
    for (let round = 1; round <= EXPIRY_ROUNDS; round++) {
      // The stored access tokens now look expired, as an hour later would.
      await s.sql(
        `update public.google_calendar_tokens set token_expiry = now() - interval '1 minute'
         where user_id = any (string_to_array(:'ids', ',')::uuid[])`,
        { ids: ids.join(",") },
      );
      const before = await s.stats();
      const outputs = await Promise.all(
        Array.from({ length: WORKERS }, (_, w) =>
          // Each worker asks for the users in another order, so the races differ.
          new Deno.Command(DENO, {
            args: [
              "run",
              "--allow-all",
              "--config",
              "deno.json",
              "tests/support/load_token_worker.ts",
              s.stackFile,
              [...ids.slice(w * 7), ...ids.slice(0, w * 7)].join(","),
            ],
            stdout: "piped",
            stderr: "piped",
          }).output()),
      );
      const results: WorkerResult[] = outputs.flatMap((o) => {
        assert(o.success, new TextDecoder().decode(o.stderr));
        return JSON.parse(new TextDecoder().decode(o.stdout)) as WorkerResult[];
      });
      const after = await s.stats();
      assert.deepEqual(results.length, WORKERS * REFRESH_USERS, "every call answered");
      assert.deepEqual(results.filter((r) => r.error).map((r) => r.error), [], "failed calls");
      calls += results.length;
      latencies.push(...results.map((r) => r.ms));

      const grants = after.tokenGrants.refresh_token;
      const grantsBefore = before.tokenGrants.refresh_token;
      assert.deepEqual(
        { ok: grants.ok - grantsBefore.ok, error: grants.error - grantsBefore.error },
        { ok: REFRESH_USERS, error: 0 },
        `round ${round}: one refresh at Google per user`,
      );
      refreshes += grants.ok - grantsBefore.ok;

      // Every process got the same, newly minted token for a user: that user's latest.
      await pool(targets, 20, async ({ user, google }) => {
        const latest = (await s.account(google)).latestAccessToken!.token;
        const got = new Set(results.filter((r) => r.userId === user.id).map((r) => r.token));
        assert.deepEqual([...got], [latest], `round ${round}: tokens handed out for ${user.id}`);
      });
    }
    figures.token_calls = calls;
    figures.token_processes = WORKERS;
    figures.token_expiry_rounds = EXPIRY_ROUNDS;
    figures.refreshes = refreshes;
    figures.refreshes_expected = REFRESH_USERS * EXPIRY_ROUNDS;
    figures.token_call_ms = summarize(latencies, 0);
    // The refreshed rows still decrypt to their own user's tokens, and nobody else's changed.
    assert.deepEqual(await verifyRows(s, "after refreshes"), [], "rows not exactly their user's");
  },
});

Deno.test({
  name: "load: no state, code or token appears in any function's output; figures recorded",
  ...opts,
  fn: () =>
    closeSuite("load", privateStack, {
      seen,
      figures,
      complete(f) {
        // A flow that never completed is a failure, counted above; a row is lost when a flow
        // completed and its row is then missing or wrong (verifyRows), or when nothing was checked.
        if (f.rows_lost === undefined) f.rows_lost = FLOWS;
      },
      // What the suite promises, checked here so that no other file has to run after this one.
      check(f) {
        assert.equal(f.rows_lost, 0, "rows lost");
        assert.ok(Number(f.flows_completed) >= 300, "at least 300 flows");
        assert.equal(f.flows_completed, f.flows_attempted, "every flow completed");
      },
    }),
});
