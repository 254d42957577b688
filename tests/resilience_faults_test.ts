/**
 * Resilience under faults (issue 5), on a private stack whose functions time out outbound calls
 * after 1 s: Google's token endpoint failing in every way during a callback and during a refresh,
 * PostgREST stopped mid-flow, Postgres restarted, a function killed mid-request, and every
 * outbound call hanging. Each fault has its expected outcome asserted: a clear error to the caller
 * or a clear page to the person, no partial or corrupt row, the previous tokens intact, and
 * recovery without manual steps once the fault is gone.
 */

import { loadConfig } from "../supabase/functions/_google_calendar/config.ts";
import { createGoogleFetch } from "../supabase/functions/_google_calendar/google_fetch.ts";
import { type ErrorCode, isAppError } from "../supabase/functions/_google_calendar/errors.ts";
import { beginFlow } from "../supabase/functions/_google_calendar/pending_flows.ts";
import { createCore as createServices } from "../supabase/functions/_google_calendar/core.ts";
import assert from "node:assert/strict";
import {
  lazyPrivateStack,
  type PrivateStack,
  type TestUser,
  waitUntil,
} from "./support/private_stack.ts";
import { closeSuite } from "./support/resilience_report.ts";
import { googleEmail } from "./support/stack_client.ts";

const TIMEOUT_MS = 1000;
const privateStack = lazyPrivateStack("faults", {
  functionEnv: { HTTP_TIMEOUT_MS: String(TIMEOUT_MS) },
});
const opts = { sanitizeResources: false, sanitizeOps: false };

const injected: { name: string; survived: boolean }[] = [];
const seen = new Map<string, string>();
const figures: Record<string, unknown> = {};
let refreshes = 0;
/** Users who should be connected now, with their Google account: checked at the end. */
const expected = new Map<string, string>();

/** Counts a fault as injected, and as survived once every assertion about it held. */
async function fault(name: string, body: () => Promise<void>): Promise<void> {
  const entry = { name, survived: false };
  injected.push(entry);
  await body();
  entry.survived = true;
}

/** A user connected to a fresh Google account; remembers its tokens for the log check. */
async function connectedUser(s: PrivateStack, prefix: string) {
  const { user, google } = await s.connectedUser(prefix);
  const row = (await s.decryptedRow(user.id))!;
  remember(prefix, row.accessToken, row.refreshToken);
  expected.set(user.id, google);
  return { user, google, row };
}

/** A consent given at Google whose callback has not been followed yet. */
async function consented(s: PrivateStack, user: TestUser, google: string): Promise<URL> {
  const authUrl = await s.connectUrl(user.id);
  const callbackUrl = await s.consent(authUrl, { email: google });
  remember(`${user.id} flow`, authUrl.searchParams.get("state")!);
  remember(`${user.id} code`, callbackUrl.searchParams.get("code")!);
  return callbackUrl;
}

function remember(name: string, ...values: string[]): void {
  values.forEach((v, i) => seen.set(`${name} ${i} ${seen.size}`, v));
}

async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await call();
  return { value, ms: Math.round(performance.now() - start) };
}

/** Row unchanged: the same ciphertexts, so the previous tokens are intact. */
async function assertRowIntact(
  s: PrivateStack,
  userId: string,
  before: { ciphertexts: { access: string; refresh: string } },
  label: string,
): Promise<void> {
  const now = await s.decryptedRow(userId);
  assert(now !== null, `${label}: the row is still there`);
  assert.deepEqual(now.ciphertexts, before.ciphertexts, `${label}: previous tokens intact`);
}

async function assertConnectsNow(s: PrivateStack, user: TestUser, google: string): Promise<void> {
  const answer = await s.connectFully(user, google);
  assert.deepEqual([answer.status, answer.result], [303, "connected"], "a new link connects");
  const row = (await s.decryptedRow(user.id))!;
  const account = await s.account(google);
  assert.deepEqual(
    row.accessToken,
    account.latestAccessToken?.token,
    "stored the new access token",
  );
  assert(account.refreshTokens.some((t) => t.token === row.refreshToken), "a live refresh token");
  remember("recovered", row.accessToken);
  expected.set(user.id, google);
}

const TOKEN_FAULTS = [
  { kind: "500" as const, label: "answering 500" },
  { kind: "timeout" as const, label: "timing out (504 after a wait)", delayMs: 300 },
  { kind: "garbage" as const, label: "answering non-JSON" },
  { kind: "malformed" as const, label: "answering JSON without a token" },
  { kind: "hang" as const, label: "hanging past our timeout" },
];

for (const { kind, label, delayMs } of TOKEN_FAULTS) {
  Deno.test({
    name: `faults: token endpoint ${label} during callbacks → error page, no row, old tokens kept`,
    ...opts,
    async fn() {
      const s = await privateStack.get();
      await fault(`callback: token endpoint ${kind}`, async () => {
        const fresh = await s.createUser(`cb-${kind}`);
        const freshGoogle = googleEmail(`cb-${kind}`);
        const old = await connectedUser(s, `cb-old-${kind}`);
        const freshCallback = await consented(s, fresh, freshGoogle);
        const oldCallback = await consented(s, old.user, old.google);

        await s.fault("token", kind, { count: 2, ...(delayMs ? { delayMs } : {}) });
        const { value: answers, ms } = await timed(() =>
          Promise.all([s.callback(freshCallback), s.callback(oldCallback)])
        );
        for (const answer of answers) {
          assert.deepEqual(
            [answer.status, answer.result, answer.reason],
            [303, "error", "google_unavailable"],
            "a clear error page",
          );
        }
        assert(ms < TIMEOUT_MS + 4000, `answered within the timeout (${ms} ms)`);
        assert.deepEqual((await s.stats()).faultsPending.token, 0, "both faults were played");
        assert.deepEqual(await s.tokenRow(fresh.id), null, "no row for the new user");
        await assertRowIntact(s, old.user.id, old.row, "reconnecting user");

        // A link works once, whatever happened after it was taken (by design): the used one
        // now says so, and a new link works without anyone doing anything.
        const replay = await s.callback(freshCallback);
        assert.deepEqual([replay.result, replay.reason], ["expired", "flow_not_found"], "replay");
        await assertConnectsNow(s, fresh, freshGoogle);
        await assertConnectsNow(s, old.user, old.google);
        assert.deepEqual(
          (await s.decryptedRow(old.user.id))!.refreshToken,
          old.row.refreshToken,
          "the stored refresh token was kept (Google sends none on re-consent)",
        );
      });
    },
  });
}

for (const { kind, label, delayMs } of TOKEN_FAULTS) {
  Deno.test({
    name:
      `faults: token endpoint ${label} during a refresh → 503 google_unavailable, row intact, then recovers`,
    ...opts,
    async fn() {
      const s = await privateStack.get();
      await fault(`refresh: token endpoint ${kind}`, async () => {
        const { user, google, row } = await connectedUser(s, `rf-${kind}`);
        await s.expireAccessToken(user.id);
        // getGoogleAccessToken tries Google 3 times: every attempt fails.
        await s.fault("token", kind, { count: 3, ...(delayMs ? { delayMs } : {}) });
        const { value: failed, ms } = await timed(() =>
          s.callJson("calendar-upcoming", { query: { user_id: user.id } })
        );
        assert.deepEqual(
          [failed.status, failed.body.code],
          [503, "google_unavailable"],
          "clear error",
        );
        assert(ms < 3 * TIMEOUT_MS + 750 + 4000, `answered within the timeouts (${ms} ms)`);
        assert.deepEqual(
          (await s.stats()).faultsPending.token,
          0,
          "all three attempts were faulted",
        );
        await assertRowIntact(s, user.id, row, "refresh failure");
        const raw = (await s.tokenRow(user.id))!;
        assert.deepEqual(raw.last_refresh_error, "google_unavailable", "status can tell");
        assert.deepEqual(raw.refresh_lease_id, null, "the lease was let go");

        // Google is back: the next call refreshes by itself.
        const before = await s.refreshGrants("ok");
        const ok = await s.callJson("calendar-upcoming", { query: { user_id: user.id } });
        assert.deepEqual(ok.status, 200, JSON.stringify(ok.body));
        assert.deepEqual(await s.refreshGrants("ok"), before + 1, "one refresh");
        refreshes += 1;
        const now = (await s.decryptedRow(user.id))!;
        assert.deepEqual(now.accessToken, (await s.account(google)).latestAccessToken?.token);
        assert.deepEqual(now.refreshToken, row.refreshToken, "refresh token kept");
        assert.deepEqual(now.lastRefreshError, null, "error cleared");
        remember("refreshed", now.accessToken);
      });
    },
  });
}

Deno.test({
  name: "faults: a transient token endpoint 500 during a refresh is absorbed by the retry",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await fault("refresh: transient 500 (retried)", async () => {
      const { user, google } = await connectedUser(s, "transient");
      await s.expireAccessToken(user.id);
      await s.fault("token", "500", { count: 2 });
      const before = await s.refreshGrants("ok");
      const ok = await s.callJson("calendar-upcoming", { query: { user_id: user.id } });
      assert.deepEqual(ok.status, 200, JSON.stringify(ok.body));
      assert.deepEqual(await s.refreshGrants("ok"), before + 1, "the third attempt refreshed");
      refreshes += 1;
      const row = (await s.decryptedRow(user.id))!;
      assert.deepEqual(row.accessToken, (await s.account(google)).latestAccessToken?.token);
    });
  },
});

Deno.test({
  name: "faults: revoke and events endpoints hanging → disconnect still deletes, upcoming says 503",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await fault("disconnect: revoke endpoint hang", async () => {
      const { user } = await connectedUser(s, "revoke-hang");
      await s.fault("revoke", "hang");
      const { value, ms } = await timed(() =>
        s.callJson("google-disconnect", { body: { user_id: user.id } })
      );
      assert.deepEqual(value.status, 200, JSON.stringify(value.body));
      assert.deepEqual([value.body.was_connected, value.body.revoked_at_google], [true, false]);
      assert(ms < TIMEOUT_MS + 4000, `answered within the timeout (${ms} ms)`);
      assert.deepEqual(await s.tokenRow(user.id), null, "the row is deleted all the same");
      expected.delete(user.id);
    });
    await fault("calendar-upcoming: events endpoint hang", async () => {
      const { user, row } = await connectedUser(s, "events-hang");
      // googleFetch tries a GET three times, each with the timeout: all three hang.
      await s.fault("events", "hang", { count: 3 });
      const { value, ms } = await timed(() =>
        s.callJson("calendar-upcoming", { query: { user_id: user.id } })
      );
      assert.deepEqual([value.status, value.body.code], [503, "google_unavailable"]);
      assert(ms < 3 * TIMEOUT_MS + 4000, `answered within three timeouts (${ms} ms)`);
      await assertRowIntact(s, user.id, row, "events failure");
      const ok = await s.callJson("calendar-upcoming", { query: { user_id: user.id } });
      assert.deepEqual(ok.status, 200, "works again once Google answers");
    });
  },
});

Deno.test({
  name:
    "faults: PostgREST stopped mid-flow → clear errors, nothing written, the same link works after",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await fault("PostgREST stopped mid-flow", async () => {
      const old = await connectedUser(s, "rest-old");
      const user = await s.createUser("rest-new");
      const google = googleEmail("rest-new");
      const callbackUrl = await consented(s, user, google);
      const before = await s.snapshot();

      await s.stack.postgrest.stop();
      try {
        const answer = await s.callback(callbackUrl);
        assert.deepEqual(
          [answer.status, answer.result, answer.reason],
          [303, "error", "database_unavailable"],
          "the person gets a clear page",
        );
        for (
          const [name, init] of [
            ["google-connect", { body: { user_id: old.user.id } }],
            ["google-status", { query: { user_id: old.user.id } }],
            ["calendar-upcoming", { query: { user_id: old.user.id } }],
            ["google-disconnect", { body: { user_id: old.user.id } }],
          ] as const
        ) {
          const res = await s.callJson(name, init);
          assert.deepEqual([res.status, res.body.code], [503, "database_unavailable"], name);
        }
      } finally {
        await s.stack.postgrest.start();
      }
      assert.deepEqual(await s.snapshot(), before, "nothing was written while PostgREST was down");
      await assertRowIntact(s, old.user.id, old.row, "connected user");

      // The flow was never taken out (that is the callback's first write) and the code never
      // redeemed, so the person's same link simply works now.
      const retry = await s.callback(callbackUrl);
      assert.deepEqual([retry.status, retry.result], [303, "connected"], "the same link works");
      const row = (await s.decryptedRow(user.id))!;
      assert.deepEqual(row.accessToken, (await s.account(google)).latestAccessToken?.token);
      expected.set(user.id, google);
      await assertConnectsNow(s, await s.createUser("rest-after"), googleEmail("rest-after"));
    });
  },
});

Deno.test({
  name: "faults: Postgres restarted → clear errors while down, then everything works unaided",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await fault("Postgres restarted", async () => {
      const old = await connectedUser(s, "pg-old");
      const user = await s.createUser("pg-new");
      const google = googleEmail("pg-new");
      const callbackUrl = await consented(s, user, google);
      const before = await s.snapshot();

      await s.stack.postgres.stop();
      try {
        const { value: answer, ms } = await timed(() => s.callback(callbackUrl));
        assert.deepEqual(
          [answer.status, answer.result, answer.reason],
          [303, "error", "database_unavailable"],
          "the person gets a clear page",
        );
        assert(ms < TIMEOUT_MS + 4000, `answered within the timeout (${ms} ms)`);
        const res = await s.callJson("google-connect", { body: { user_id: old.user.id } });
        assert.deepEqual([res.status, res.body.code], [503, "database_unavailable"], "connect");
        // A read, too (supabase-js retries reads on 503s unless told not to): still prompt.
        const read = await timed(() =>
          s.callJson("google-status", { query: { user_id: old.user.id } })
        );
        assert.deepEqual([read.value.status, read.value.body.code], [503, "database_unavailable"]);
        assert(read.ms < TIMEOUT_MS + 2000, `status answered within the timeout (${read.ms} ms)`);
      } finally {
        await s.stack.postgres.start();
      }
      // PostgREST is not touched: it must reconnect to the restarted database by itself.
      figures.postgres_back_to_serving_ms = await waitUntil(
        "PostgREST serving again",
        async () => {
          const res = await s.callJson("google-status", { query: { user_id: old.user.id } });
          return res.status === 200 && res.body.connected === true;
        },
        30_000,
        100,
      );
      assert.deepEqual(await s.snapshot(), before, "nothing lost or written across the restart");
      await assertRowIntact(s, old.user.id, old.row, "connected user");
      const retry = await s.callback(callbackUrl);
      assert.deepEqual([retry.status, retry.result], [303, "connected"], "the same link works");
      expected.set(user.id, google);
      await assertConnectsNow(s, await s.createUser("pg-after"), googleEmail("pg-after"));
    });
  },
});

Deno.test({
  name:
    "faults: google-callback killed mid-request → 502, no partial row, restarted, new link works",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await fault("google-callback process killed mid-request", async () => {
      const user = await s.createUser("killed");
      const google = googleEmail("killed");
      const callbackUrl = await consented(s, user, google);
      const fn = s.stack.functions.get("google-callback")!;
      const pid = fn.pid();

      // Google's token endpoint holds the code exchange open; kill the process while it waits.
      await s.fault("token", "hang");
      const pending = s.callback(callbackUrl);
      await waitUntil(
        "the callback waiting on Google",
        async () => (await s.stats()).faultsPending.token === 0,
        TIMEOUT_MS - 200,
        10,
      );
      fn.crash();
      const crashedAt = performance.now();
      const answer = await pending;
      assert.deepEqual(answer.status, 502, "the gateway says the function is not answering");
      assert.deepEqual(answer.location, null, "no redirect");
      assert.deepEqual(await s.tokenRow(user.id), null, "no partial row");
      assert.deepEqual(await s.pendingFlowCount(user.id), 0, "the flow was taken before the crash");

      await waitUntil(
        "google-callback restarted",
        async () => {
          if (fn.pid() === pid) return false;
          const res = await fetch(`${s.info.functions_url}/google-callback`);
          await res.body?.cancel();
          return res.status === 400;
        },
        30_000,
        50,
      );
      figures.function_restart_ms = Math.round(performance.now() - crashedAt);
      // A link works once (by design): the killed request used it up.
      const replay = await s.callback(callbackUrl);
      assert.deepEqual([replay.result, replay.reason], ["expired", "flow_not_found"], "replay");
      await assertConnectsNow(s, user, google);
    });
  },
});

Deno.test({
  name:
    "faults: every outbound call (PostgREST, token, revoke, JWKS, Calendar) gives up at the timeout",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    // A server that accepts connections and never answers.
    const hole = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const conns: Deno.Conn[] = [];
    (async () => {
      for await (const conn of hole) conns.push(conn);
    })().catch(() => {});
    const holeUrl = `http://127.0.0.1:${(hole.addr as Deno.NetAddr).port}`;
    const timeout = 300;
    const services = createServices(loadConfig({
      ...s.info.function_env,
      SUPABASE_URL: holeUrl,
      GOOGLE_OAUTH_BASE_URL: holeUrl,
      GOOGLE_API_BASE_URL: holeUrl,
      HTTP_TIMEOUT_MS: String(timeout),
    }));
    const user = await s.createUser("hole");
    const calls: [string, () => Promise<unknown>, ErrorCode][] = [
      ["PostgREST read", () => services.tokens.get(user.id), "database_unavailable"],
      ["PostgREST write", () =>
        services.tokens.delete(user.id, {
          cause: "disconnect",
          revokedAtGoogle: false,
          needsRevocation: true,
        }), "database_unavailable"],
      ["PostgREST rpc", () =>
        beginFlow(services.db, {
          userId: user.id,
          jti: crypto.randomUUID(),
          codeVerifier: "v".repeat(43),
          expiresAt: new Date(Date.now() + 60_000),
        }), "database_unavailable"],
      ["token (refresh)", () => services.google.refresh("1//refresh"), "google_unavailable"],
      ["token (code)", () => {
        const url = new URL(s.info.google_redirect_uri);
        url.search = new URLSearchParams({ state: "st", code: "4/0Acode", iss: holeUrl })
          .toString();
        return services.google.exchangeCode(url, { expectedState: "st", codeVerifier: "v" });
      }, "google_unavailable"],
      ["revoke", () => services.google.revoke("1//refresh"), "google_unavailable"],
      ["JWKS (user token check)", async () =>
        services.callers.authenticate(
          new Request("http://x/", {
            headers: { authorization: `Bearer ${await s.userToken(user.id)}` },
          }),
        ), "unauthorized"],
      [
        "getGoogleAccessToken",
        () => services.accessTokens.getGoogleAccessToken(user.id),
        "database_unavailable",
      ],
    ];
    const timings: Record<string, number> = {};
    try {
      for (const [name, call, code] of calls) {
        const { ms } = await timed(() =>
          assert.rejects(call, (e) => isAppError(e, code), `${name} fails as ${code}`)
        );
        assert(ms < timeout + 1500, `${name} gave up after ${ms} ms`);
        timings[name] = ms;
      }
      const token = { accessToken: "ya29.x", expiresAt: null, scopes: [] };
      const googleFetch = createGoogleFetch({
        tokens: {
          getGoogleAccessToken: () => Promise.resolve(token),
          renew: () => Promise.resolve(token),
        },
        apiBaseUrl: holeUrl,
        timeoutMs: timeout,
        attempts: 1,
      });
      const { ms } = await timed(() =>
        assert.rejects(
          () => googleFetch(user.id, "/calendar/v3/calendars/primary/events"),
          (e) => isAppError(e, "google_unavailable"),
          "Calendar",
        )
      );
      assert(ms < timeout + 1500, `Calendar call gave up after ${ms} ms`);
      timings["Calendar events"] = ms;
    } finally {
      hole.close();
      for (const conn of conns) conn.close();
    }
    figures.outbound_timeout_ms = timeout;
    figures.outbound_calls_giving_up_ms = timings;
  },
});

Deno.test({
  name: "faults: a database lock stalling PostgREST → google-connect answers 503 at its timeout",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    await fault("PostgREST stalled by a lock", async () => {
      const user = await s.createUser("stalled");
      const locker = new Deno.Command("psql", {
        args: [s.info.db_url, "-X", "-q", "-v", "ON_ERROR_STOP=1"],
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const writer = locker.stdin.getWriter();
      await writer.write(new TextEncoder().encode(
        "begin; lock table public.google_oauth_pending_flows in access exclusive mode;\n",
      ));
      try {
        await waitUntil("the lock", async () => {
          const [n] = await s.sql(
            `select count(*) from pg_locks where granted and mode = 'AccessExclusiveLock'
               and relation = 'public.google_oauth_pending_flows'::regclass`,
          );
          return n === "1";
        }, 10_000);
        const { value, ms } = await timed(() =>
          s.callJson("google-connect", { body: { user_id: user.id } })
        );
        assert.deepEqual([value.status, value.body.code], [503, "database_unavailable"]);
        assert(ms < TIMEOUT_MS + 3000, `answered within the timeout (${ms} ms)`);
      } finally {
        await writer.write(new TextEncoder().encode("rollback;\n"));
        await writer.close();
        await locker.status;
      }
      // PostgREST does not cancel the statement the function gave up on: once the lock is gone
      // it completes, leaving a pending flow nobody got a link for. It is bounded (5 per user)
      // and expires with the link; counted here, not hidden.
      await waitUntil("the stalled statement finished", async () => {
        const [n] = await s.sql(
          "select count(*) from pg_stat_activity where wait_event_type = 'Lock'",
        );
        return n === "0";
      }, 10_000);
      const orphans = await s.pendingFlowCount(user.id);
      figures.orphan_pending_flows_after_stall = orphans;
      assert(orphans <= 1, `at most the one stalled flow (${orphans})`);
      await assertConnectsNow(s, user, googleEmail("stalled"));
    });
  },
});

Deno.test({
  name: "faults: one caller cannot grow the pending-flow table without bound",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const user = await s.createUser("bound");
    const token = await s.userToken(user.id);
    const firstLink = await s.connectUrl(user.id);
    const tap = async () => {
      const res = await fetch(`${s.info.functions_url}/google-connect`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      const body = await res.json();
      return { status: res.status, code: body.code as string | undefined };
    };
    // A person who taps twice gets two links at once (the newer one is the valid one).
    const twice = await Promise.all([tap(), tap()]);
    assert.deepEqual(twice.map((a) => a.status), [200, 200], "a double tap: two links");
    // Thirty at once is no person: each is answered, with a link or, when this stack's 1 s
    // HTTP_TIMEOUT_MS runs out on a loaded machine, with database_unavailable ("try again").
    // Never anything else, and the table stays bounded either way.
    const answers = await Promise.all(Array.from({ length: 30 }, tap));
    assert.deepEqual(
      answers.filter((a) => a.status !== 200 && a.code !== "database_unavailable"),
      [],
      "every request answered with a link or a retryable 503",
    );
    assert.ok(answers.some((a) => a.status === 200), "links were handed out");
    assert.deepEqual(
      await s.pendingFlowCount(user.id),
      1,
      "only the newest link is pending: each new one voids the older ones",
    );
    // The bound is real: the oldest link was dropped, not just hidden.
    const google = googleEmail("bound");
    const old = await s.callback(await s.consent(firstLink, { email: google }));
    assert.deepEqual(
      [old.result, old.reason],
      ["expired", "flow_not_found"],
      "oldest link dropped",
    );

    // Links for users that do not exist start nothing at all.
    const before = await s.snapshot();
    for (let i = 0; i < 20; i++) {
      const res = await s.callJson("google-connect", { body: { user_id: crypto.randomUUID() } });
      assert.deepEqual([res.status, res.body.code], [404, "user_not_found"]);
    }
    assert.deepEqual(await s.snapshot(), before, "no flow for unknown users");
    figures.pending_flows_bound = 5;
    figures.pending_flows_after_33_requests = await s.pendingFlowCount(user.id);
  },
});

Deno.test({
  name: "faults: after all faults, every connected user's row holds exactly their tokens",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const rows = await s.tokenRows();
    const lost: string[] = [];
    for (const [userId, google] of expected) {
      const row = rows.get(userId);
      const mine = row ? await s.decrypt(userId, row).catch(() => null) : null;
      const account = await s.account(google);
      if (
        !mine || mine.accessToken !== account.latestAccessToken?.token ||
        !account.refreshTokens.some((t) => t.token === mine.refreshToken) ||
        mine.googleEmail !== google
      ) lost.push(userId);
    }
    const strangers = [...rows.keys()].filter((id) => !expected.has(id));
    figures.rows_checked = expected.size;
    figures.rows_lost = lost.length;
    assert(expected.size > 10, "the faults above connected users");
    assert.deepEqual(lost, [], "rows lost or not exactly their user's tokens");
    assert.deepEqual(strangers, [], "rows for users who should have none");
  },
});

Deno.test({
  name: "faults: no state, code, token or secret in any function's output; figures recorded",
  ...opts,
  fn: () =>
    closeSuite("faults", privateStack, {
      seen,
      figures,
      complete(f) {
        f.faults_injected = injected.length;
        f.faults_survived = injected.filter((i) => i.survived).length;
        f.faults_not_survived = injected.filter((i) => !i.survived).map((i) => i.name);
        f.refreshes = refreshes;
        if (f.rows_lost === undefined) f.rows_lost = expected.size; // never checked
      },
      // What the suite promises, checked here so that no other file has to run after this one.
      check(f) {
        assert.equal(f.rows_lost, 0, "rows lost");
        assert.ok(Number(f.faults_injected) > 0, "faults were injected");
        assert.equal(f.faults_survived, f.faults_injected, "every fault survived");
      },
    }),
});
