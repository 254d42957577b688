/**
 * The token store other functions import, against the stack's database: what it saves it reads
 * back; what it cannot trust (another user's ciphertext, an unknown key) reads as "not connected".
 */

import { base64url } from "jose";
import type { EncryptionKey } from "../supabase/functions/_google_calendar/config.ts";
import { isAppError } from "../supabase/functions/_google_calendar/errors.ts";
import {
  createTokenStore,
  type SaveGrantInput,
  type TokenStore,
} from "../supabase/functions/_google_calendar/token_store.ts";
import type { Keyring } from "../supabase/functions/_google_calendar/token_crypto.ts";
import assert from "node:assert/strict";
import { config } from "./support/flows.ts";
import { createUser, serviceClient, sql, tokenRow } from "./support/stack.ts";

const store = createTokenStore(serviceClient(), config.encryption, { webhooks: false });

/**
 * get() for a row expected not to decrypt: null, with one warning that names the user and quotes
 * nothing from the row (captured, so the test output stays clean).
 */
async function getUnreadable(target: TokenStore, userId: string): Promise<void> {
  const row = await tokenRow(userId);
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    assert.deepEqual(await target.get(userId), null, "an unreadable row reads as not connected");
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings.length, 1, "one warning");
  assert(warnings[0]!.includes(userId), "the warning names the user");
  for (const value of [row?.access_token, row?.refresh_token]) {
    assert(!warnings[0]!.includes(String(value).slice(-20)), "no ciphertext in the warning");
  }
}

/** A plain disconnect: revoked at Google, nothing to queue. */
const DISCONNECT = { cause: "disconnect", revokedAtGoogle: true, needsRevocation: false } as const;

function newKey(kid: string): EncryptionKey {
  return { kid, key: crypto.getRandomValues(new Uint8Array(32)) };
}

function tokensFor(userId: string, overrides: Partial<SaveGrantInput> = {}): SaveGrantInput {
  const tag = crypto.randomUUID();
  return {
    userId,
    accessToken: `ya29.access-${tag}`,
    refreshToken: `1//refresh-${tag}`,
    expiresAt: new Date(Date.now() + 3600_000),
    refreshTokenExpiresAt: null,
    scopes: ["openid", "email", "https://www.googleapis.com/auth/calendar.events"],
    googleSub: `sub-${tag}`,
    googleEmail: `g-${tag.slice(0, 8)}@gmail.example`,
    ...overrides,
  };
}

Deno.test("token_store: save, get and delete round-trip a user's tokens", async () => {
  const user = await createUser("store");
  const input = tokensFor(user.id);
  await store.save(input);

  const got = await store.get(user.id);
  assert(got, "the tokens read back");
  assert.deepEqual(got.accessToken, input.accessToken);
  assert.deepEqual(got.refreshToken, input.refreshToken);
  assert.deepEqual(got.googleSub, input.googleSub);
  assert.deepEqual(got.googleEmail, input.googleEmail);
  assert.deepEqual(got.scopes, input.scopes);
  assert.deepEqual(got.expiresAt?.getTime(), input.expiresAt!.getTime());

  const row = (await tokenRow(user.id))!;
  assert(!String(row.access_token).includes(input.accessToken), "access token not in clear");
  assert(!String(row.refresh_token).includes(input.refreshToken!), "refresh token not in clear");

  assert.deepEqual(await store.delete(user.id, DISCONNECT), true);
  assert.deepEqual(await store.get(user.id), null);
  assert.deepEqual(await store.delete(user.id, DISCONNECT), false, "nothing left to delete");
});

Deno.test("token_store: every consent is a new grant; a delete by grant id leaves a newer one", async () => {
  const user = await createUser("grant-ids");
  const first = await store.save(tokensFor(user.id));
  assert.equal(first.reconnected, false);
  const firstGrant = (await store.get(user.id))!.grantId;
  assert.equal(firstGrant, first.grantId);
  const second = await store.save(tokensFor(user.id));
  assert.equal(second.reconnected, true, "a grant existed before");
  assert.notEqual(second.grantId, first.grantId);
  const dead = { ...DISCONNECT, grantId: first.grantId, cause: "reconnect_required" as const };
  assert.equal(await store.delete(user.id, dead), false, "the old grant is already gone");
  assert.equal((await store.get(user.id))?.grantId, second.grantId, "the new grant survives");
});

Deno.test("token_store: save says when the Google account is also linked to another user", async () => {
  const a = await createUser("shared-a");
  const b = await createUser("shared-b");
  const input = tokensFor(a.id);
  assert.equal((await store.save(input)).linkedToOtherUsers, false);
  const again = await store.save(tokensFor(b.id, { googleSub: input.googleSub }));
  assert.equal(again.linkedToOtherUsers, true);
});

Deno.test("token_store: get is null for a user who never connected", async () => {
  assert.deepEqual(await store.get((await createUser("never")).id), null);
  assert.deepEqual(await store.get(crypto.randomUUID()), null);
});

Deno.test("token_store: a ciphertext copied into another user's row does not decrypt as theirs", async () => {
  const a = await createUser("copy-a");
  const b = await createUser("copy-b");
  await store.save(tokensFor(a.id));
  await store.save(tokensFor(b.id));
  assert(await store.get(b.id), "B reads before the copy");
  await sql(
    "update public.google_calendar_tokens b set access_token = a.access_token, " +
      "refresh_token = a.refresh_token from public.google_calendar_tokens a " +
      "where a.user_id = :'a' and b.user_id = :'b'",
    { a: a.id, b: b.id },
  );
  await getUnreadable(store, b.id); // bound to the user it was written for
  assert(await store.get(a.id), "A still reads");
});

Deno.test("token_store: the access and refresh ciphertexts cannot be swapped", async () => {
  const user = await createUser("swap");
  await store.save(tokensFor(user.id));
  await sql(
    "update public.google_calendar_tokens set access_token = refresh_token, " +
      "refresh_token = access_token where user_id = :'id'",
    { id: user.id },
  );
  await getUnreadable(store, user.id); // bound to its column
});

Deno.test("token_store: a row encrypted with a key no longer in the keyring reads as null", async () => {
  const user = await createUser("oldkey");
  const retired = newKey("retired");
  const oldStore = createTokenStore(serviceClient(), { current: retired, keys: [retired] }, {
    webhooks: false,
  });
  await oldStore.save(tokensFor(user.id));
  assert(await oldStore.get(user.id), "readable with its own key");
  await getUnreadable(store, user.id); // unknown key id

  // Same key id, different key material: also unreadable, never garbage.
  const impostor: Keyring = { current: newKey("retired"), keys: [newKey("retired")] };
  await getUnreadable(createTokenStore(serviceClient(), impostor, { webhooks: false }), user.id);
});

Deno.test("token_store: after a rotation the new key writes and the old key still reads", async () => {
  const user = await createUser("rotate");
  const input = tokensFor(user.id);
  await store.save(input);

  const next = newKey("next");
  const rotated: Keyring = { current: next, keys: [next, ...config.encryption.keys] };
  const rotatedStore = createTokenStore(serviceClient(), rotated, { webhooks: false });
  const got = await rotatedStore.get(user.id);
  assert.deepEqual(got?.refreshToken, input.refreshToken, "old rows still read");

  const other = await createUser("rotate-new");
  await rotatedStore.save(tokensFor(other.id));
  const row = (await tokenRow(other.id))!;
  const kid = JSON.parse(new TextDecoder().decode(
    base64url.decode(String(row.access_token).split(".")[0]!),
  )).kid;
  assert.deepEqual(kid, "next", "new rows use the new key");
  assert(await rotatedStore.get(other.id), "the rotated keyring reads its own rows");
  await getUnreadable(store, other.id); // the old keyring alone cannot
});

Deno.test("token_store: saving without a refresh token keeps the stored one for the same account", async () => {
  const user = await createUser("keep");
  const first = tokensFor(user.id);
  await store.save(first);
  const again = tokensFor(user.id, { refreshToken: null, googleSub: first.googleSub });
  await store.save(again);
  const got = (await store.get(user.id))!;
  assert.deepEqual(got.refreshToken, first.refreshToken);
  assert.deepEqual(got.accessToken, again.accessToken);
});

Deno.test("token_store: saving without a refresh token for another account is refused", async () => {
  const user = await createUser("cross");
  const first = tokensFor(user.id);
  await store.save(first);
  const before = await tokenRow(user.id);
  await assert.rejects(
    () => store.save(tokensFor(user.id, { refreshToken: null })),
    (error) => isAppError(error, "google_refresh_token_missing"),
  );
  const after = await tokenRow(user.id);
  assert.deepEqual(
    { ...after, last_refresh_error: null, updated_at: null },
    { ...before, last_refresh_error: null, updated_at: null },
    "tokens untouched",
  );
  assert.deepEqual(after?.last_refresh_error, "google_refresh_token_missing", "marked for consent");

  const fresh = await createUser("cross-fresh");
  await assert.rejects(
    () => store.save(tokensFor(fresh.id, { refreshToken: null })),
    (error) => isAppError(error, "google_refresh_token_missing"),
  );
  assert.deepEqual(await tokenRow(fresh.id), null, "no row without a refresh token");
});

Deno.test("token_store: saving without a refresh token over a row that no longer decrypts is refused", async () => {
  const user = await createUser("undecryptable");
  const first = tokensFor(user.id);
  await store.save(first);
  // The stored refresh token becomes unreadable, as if its key had been rotated away.
  await sql(
    "update public.google_calendar_tokens set refresh_token = 'not-a-jwe' where user_id = :'id'",
    { id: user.id },
  );
  await assert.rejects(
    () => store.save({ ...tokensFor(user.id, { refreshToken: null }), googleSub: first.googleSub }),
    (error) => isAppError(error, "google_refresh_token_missing"),
  );
  assert.deepEqual((await tokenRow(user.id))?.refresh_token, "not-a-jwe", "nothing half-written");
});

Deno.test("two first consents at once: the one overwritten is queued for revocation, not leaked", async () => {
  const user = await createUser("save-race");
  // A JWE-shaped ciphertext (the key-id trigger reads its header) per refresh token.
  const jwe = (tag: string) =>
    `translate(rtrim(encode(convert_to('{"alg":"dir","enc":"A256GCM","kid":"k1"}', 'UTF8'),` +
    ` 'base64'), '='), '+/', '-_') || '..aXY.${tag}.dGFn'`;
  const save = (tag: string, sub: string) =>
    `select public.google_calendar_save_grant(:'id', ${jwe("YWNj")}, ${jwe(tag)}, null,
       now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'],
       '${sub}', '${sub}@gmail.test', false)`;
  // The first save holds its transaction open while the second starts: with no row yet there
  // is nothing to lock, so only the save's own per-user lock keeps them apart.
  const first = sql(`begin; ${save("Zmlyc3Q", "sub-first")}; select pg_sleep(1); commit;`, {
    id: user.id,
  });
  await new Promise((r) => setTimeout(r, 300));
  const second = sql(`${save("c2Vjb25k", "sub-second")};`, { id: user.id });
  await Promise.all([first, second]);
  const queued = await sql(
    `select google_sub || ' ' || cause from public.google_calendar_revocations
      where user_id = :'id'`,
    { id: user.id },
  );
  assert.deepEqual(queued, ["sub-first replaced"]);
  assert.equal((await tokenRow(user.id))?.google_sub, "sub-second");
});

/**
 * Waits until another session runs the statement tagged `tag` (it then holds what it took), or
 * has finished (`done`): either way what follows no longer races its start.
 */
async function sessionAt(tag: string, done: Promise<unknown>): Promise<void> {
  let finished = false;
  done.then(() => finished = true, () => finished = true);
  for (let i = 0; i < 600 && !finished; i++) {
    const [n] = await sql(
      `select count(*) from pg_stat_activity where state = 'active' and query like :'q'
         and pid <> pg_backend_pid()`,
      { q: `%${tag}%` },
    );
    if (Number(n) > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("read_for_use: while another session saves a refresh, it does not take the lease (R1)", async () => {
  const user = await createUser("read-race");
  const jwe = (tag: string) =>
    `translate(rtrim(encode(convert_to('{"alg":"dir","enc":"A256GCM","kid":"k1"}', 'UTF8'),` +
    ` 'base64'), '='), '+/', '-_') || '..aXY.${tag}.dGFn'`;
  await sql(
    `select public.google_calendar_save_grant(:'id', ${jwe("YWNj")}, ${jwe("cmVm")}, null,
       now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'],
       'sub-read-race', 'r@gmail.test', false)`,
    { id: user.id },
  );
  const readForUse = () =>
    sql(
      `select (public.google_token_read_for_use(:'id', now() + interval '5 minutes',
         gen_random_uuid(), 60) ->> 'leased')`,
      { id: user.id },
    );

  // A's lease has lapsed but A is saving its refresh, holding the row: B waits for A's commit,
  // then must see A's fresh token (not due) and take no lease.
  await sql(
    `update public.google_calendar_tokens set token_expiry = now() - interval '1 minute',
       refresh_lease_id = '00000000-0000-4000-8000-00000000000a',
       refresh_lease_until = now() - interval '1 second' where user_id = :'id'`,
    { id: user.id },
  );
  const a = sql(
    `begin;
     update public.google_calendar_tokens set token_expiry = now() + interval '1 hour',
       refresh_lease_id = null, refresh_lease_until = null
     where user_id = :'id' and refresh_lease_id = '00000000-0000-4000-8000-00000000000a';
     select pg_sleep(1), 'r1-saving-${user.id}'; commit;`,
    { id: user.id },
  );
  await sessionAt(`r1-saving-${user.id}`, a);
  const [leasedDuringSave] = await readForUse();
  await a;
  assert.equal(leasedDuringSave, "false", "the refreshed token is not due: no lease");

  // A holds a live lease on an expired token: B gets the row, not the lease.
  await sql(
    `update public.google_calendar_tokens set token_expiry = now() - interval '1 minute',
       refresh_lease_id = '00000000-0000-4000-8000-00000000000a',
       refresh_lease_until = now() + interval '1 minute' where user_id = :'id'`,
    { id: user.id },
  );
  assert.deepEqual(await readForUse(), ["false"], "another's live lease is not taken");
});

Deno.test("linkedGoogleAccounts(): a consent being saved for the account is waited for, not missed (finding 3)", async () => {
  const user = await createUser("account-lock");
  const sub = `sub-lock-${crypto.randomUUID()}`;
  const jwe = (tag: string) =>
    `translate(rtrim(encode(convert_to('{"alg":"dir","enc":"A256GCM","kid":"k1"}', 'UTF8'),` +
    ` 'base64'), '='), '+/', '-_') || '..aXY.${tag}.dGFn'`;
  // Session A saves a grant of the account and holds its transaction open a moment.
  const saving = sql(
    `begin;
     select public.google_calendar_save_grant(:'id', ${jwe("YWNj")}, ${jwe("cmVm")}, null,
       now() + interval '1 hour', null, array['https://www.googleapis.com/auth/calendar.events'],
       :'sub', 'l@gmail.test', false);
     select pg_sleep(1), 'lock-saving-${user.id}'; commit;`,
    { id: user.id, sub },
  );
  await sessionAt(`lock-saving-${user.id}`, saving);
  // The revocation runner's check, meanwhile: it must see the grant (it waits for the save's
  // commit on the account's lock), or the revoke that follows would end it unseen.
  const linked = await store.linkedGoogleAccounts([sub]);
  await saving;
  assert.deepEqual([...linked], [sub]);
});
