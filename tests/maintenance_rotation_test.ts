/**
 * The key rotation drill of docs/maintenance.md, end to end on a private stack: add k2 in front
 * (TOKEN_ENCRYPTION_KEY=k2:…,local-1:…) → one pass → the report shows 0 rows under local-1 →
 * remove local-1 (TOKEN_ENCRYPTION_KEY=k2:…) → every connection still works: google-status says
 * connected, getGoogleAccessToken hands out a token (refreshing one at Google with the re-wrapped
 * refresh token), and a revocation queued before the rotation is still revoked.
 */

import assert from "node:assert/strict";
import { base64url } from "jose";
import { loadConfig } from "../supabase/functions/_google_calendar/config.ts";
import { createCore } from "../supabase/functions/_google_calendar/core.ts";
import { lazyPrivateStack } from "./support/private_stack.ts";
import {
  connectedUsers,
  functionVariant,
  liveRefreshTokens,
  maintenanceVariant,
  makeRevocationsDue,
  queuedRevocations,
} from "./support/maintenance.ts";

const privateStack = lazyPrivateStack("maintenance-rotation", {
  functionEnv: { HTTP_TIMEOUT_MS: "2000" },
});
const opts = { sanitizeResources: false, sanitizeOps: false };

/** Rows per key id, tokens and queue, straight from the tables. */
async function rowsPerKey(s: Awaited<ReturnType<typeof privateStack.get>>) {
  const rows = await s.sql(
    `select key_id || ' ' || count(*) from public.google_calendar_tokens group by key_id
     union all
     select 'queue:' || key_id || ' ' || count(*) from public.google_calendar_revocations
      group by key_id order by 1`,
  );
  return Object.fromEntries(rows.map((r) => r.split(" ")).map(([k, n]) => [k, Number(n)]));
}

Deno.test({
  name: "rotation drill: add k2 → a pass → 0 rows under local-1 → remove local-1 → all still works",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const oldKey = s.info.function_env.TOKEN_ENCRYPTION_KEY!;
    assert.match(oldKey, /^local-1:/);
    const k2 = `k2:${base64url.encode(crypto.getRandomValues(new Uint8Array(32)))}`;

    const users = await connectedUsers(s, "rotation", 4);
    const kept = users.slice(0, 3);
    const [gone] = users.slice(3);
    // A grant deleted by hand before the rotation, its revoke not due yet: its queue entry must
    // be re-wrapped too, or it could never be revoked once local-1 is gone.
    await s.sql(`delete from public.google_calendar_tokens where user_id = :'id'`, {
      id: gone!.user.id,
    });
    await s.sql(
      `update public.google_calendar_revocations set next_attempt_at = now() + interval '1 day'`,
    );
    assert.deepEqual(await rowsPerKey(s), { "local-1": 3, "queue:local-1": 1 });

    // 1. Add k2 first: new writes use k2, every old ciphertext still reads.
    const both = await maintenanceVariant(s, { TOKEN_ENCRYPTION_KEY: `${k2},${oldKey}` }, "both");
    try {
      const { status, report } = await both.pass();
      assert.equal(status, 200, JSON.stringify(report.errors));
      assert.equal(report.tasks.rewrap.tokens, 3);
      assert.equal(report.tasks.rewrap.revocations, 1);
      // 2. The report says when local-1 can go.
      assert.equal(report.keys.current, "k2");
      assert.equal(report.keys.old_key_rows, 0);
      assert.deepEqual(
        report.keys.rows.map((r) => [r.key_id, r.estimated]),
        [["k2", true]],
        "only the current key is left (its count an estimate from the statistics)",
      );
      assert.deepEqual(await rowsPerKey(s), { k2: 3, "queue:k2": 1 });
      const again = await both.pass();
      assert.equal(again.report.tasks.rewrap.tokens, 0, "nothing left to re-wrap");
    } finally {
      await both.stop();
    }

    // 3. Remove local-1: only k2 is configured now.
    const onlyK2 = { ...s.info.function_env, TOKEN_ENCRYPTION_KEY: k2 };
    const status = await functionVariant(s, "google-status", { TOKEN_ENCRYPTION_KEY: k2 }, "k2");
    const maintenance = await maintenanceVariant(s, { TOKEN_ENCRYPTION_KEY: k2 }, "k2-only");
    try {
      for (const { user, google } of kept) {
        const res = await fetch(`${status.url}?user_id=${user.id}`, {
          headers: { authorization: `Bearer ${s.info.service_role_key}` },
        });
        const body = await res.json();
        assert.equal(res.status, 200);
        assert.equal(body.connected, true, "google-status: still connected");
        assert.equal(body.google_email, google);
      }
      const core = createCore(loadConfig(onlyK2));
      // One token has expired: getGoogleAccessToken must refresh it with the re-wrapped
      // refresh token (Google takes it) and store the result under k2.
      await s.expireAccessToken(kept[0]!.user.id);
      for (const { user } of kept) {
        const token = await core.accessTokens.getGoogleAccessToken(user.id);
        assert.match(token.accessToken, /^ya29\./, "getGoogleAccessToken works under k2 alone");
      }
      const [refreshedAt] = await s.sql(
        `select (token_expiry > now())::text || ' ' || key_id from public.google_calendar_tokens
          where user_id = :'id'`,
        { id: kept[0]!.user.id },
      );
      assert.equal(refreshedAt, "true k2", "refreshed at Google and stored under k2");

      // The queued revocation, re-wrapped under k2, is still revocable.
      await makeRevocationsDue(s);
      const { report } = await maintenance.pass();
      assert.equal(report.tasks.revocations.revoked, 1);
      assert.equal(report.tasks.revocations.undecryptable, 0);
      assert.equal(await queuedRevocations(s, gone!.user.id), 0);
      assert.equal(await liveRefreshTokens(s, gone!.google), 0, "revoked at Google");
    } finally {
      await status.stop();
      await maintenance.stop();
    }
  },
});

Deno.test({
  name: "rows under a key no longer held never stall the re-wrap of the rest (finding 5)",
  ...opts,
  async fn() {
    const s = await privateStack.get();
    const oldKey = s.info.function_env.TOKEN_ENCRYPTION_KEY!;
    const k3 = `k3:${base64url.encode(crypto.getRandomValues(new Uint8Array(32)))}`;
    // 250 rows under a key removed from the keyring, written first (so they come first in the
    // table and in key order): more than one re-wrap batch, none of them ever readable.
    const removedKid = "a-removed";
    const jwe =
      `translate(rtrim(encode(convert_to('{"alg":"dir","enc":"A256GCM","kid":"${removedKid}"}',
      'UTF8'), 'base64'), '='), '+/', '-_') || '..aXY.' || md5(u.id::text) || '.dGFn'`;
    // Written with webhooks off for the transaction: 250 connected events are not this test's.
    const ids = await s.sql(
      `begin;
       select set_config('google_calendar.webhooks', 'off', true) \\g /dev/null
       with u as (insert into auth.users (email)
         select 'removed-key-' || g || '-' || gen_random_uuid() || '@example.test'
         from generate_series(1, 250) g returning id)
       insert into public.google_calendar_tokens (user_id, access_token, refresh_token, scopes,
         google_sub, google_email)
       select u.id, ${jwe}, ${jwe}, array['https://www.googleapis.com/auth/calendar.events'],
         'removed-' || u.id, 'r@example.test' from u
       returning user_id;
       commit;`,
    );
    assert.equal(ids.length, 250);
    // Then one real grant under the old key the keyring still holds.
    const [real] = await connectedUsers(s, "rotation-held", 1);
    const variant = await maintenanceVariant(
      s,
      { TOKEN_ENCRYPTION_KEY: `${k3},${oldKey}` },
      "k3-and-old",
    );
    try {
      const { status, report } = await variant.pass();
      assert.equal(status, 200, JSON.stringify(report.errors));
      assert.equal(report.tasks.rewrap.tokens, 1, "the readable row was re-wrapped");
      assert.equal(
        report.tasks.rewrap.undecryptable,
        0,
        "rows under the removed key not asked for",
      );
      const [kid] = await s.sql(
        `select key_id from public.google_calendar_tokens where user_id = :'id'`,
        { id: real!.user.id },
      );
      assert.equal(kid, "k3");
      // The operator still sees them, to restore the key or delete the rows.
      assert.ok(report.keys.rows.some((r) => r.key_id === removedKid && r.tokens === 250));
    } finally {
      await variant.stop();
      await s.sql(
        `delete from auth.users where id = any(string_to_array(:'ids', ',')::uuid[]);
         delete from public.google_calendar_revocations where key_id = '${removedKid}'`,
        { ids: ids.join(",") },
      );
    }
  },
});

Deno.test({
  name: "maintenance rotation suite: stop the stack",
  ...opts,
  fn: () => privateStack.stop(),
});
