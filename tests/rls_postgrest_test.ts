/**
 * The token table's row-level security, seen the way apps see it: supabase-js through the
 * gateway and real PostgREST, with a user's token, the anon key and the service key.
 */

import assert from "node:assert/strict";
import {
  anonClient,
  createUser,
  serviceClient,
  type TestUser,
  userClient,
  userToken,
} from "./support/stack.ts";

const TABLE = "google_calendar_tokens";

async function seed(): Promise<{ a: TestUser; b: TestUser }> {
  const a = await createUser("rls-a");
  const b = await createUser("rls-b");
  const { error } = await serviceClient().from(TABLE).insert([
    { user_id: a.id, access_token: "a-access", refresh_token: "a-refresh" },
    { user_id: b.id, access_token: "b-access", refresh_token: "b-refresh" },
  ]);
  assert.deepEqual(error, null);
  return { a, b };
}

/** The columns a signed-in user may read (column privileges): nothing secret or internal. */
const USER_COLUMNS = "user_id, google_email, scopes, token_expiry, refresh_token_expires_at, " +
  "connected_at, updated_at, last_refresh_at, last_refresh_error";

Deno.test("RLS via PostgREST: a user's client reads only their own row's non-secret columns", async () => {
  const { a, b } = await seed();
  const db = userClient(await userToken(a.id));
  const { data, error } = await db.from(TABLE).select(USER_COLUMNS).in("user_id", [a.id, b.id]);
  assert.deepEqual(error, null);
  assert.deepEqual(
    (data as unknown as { user_id: string }[] | null)?.map((r) => r.user_id),
    [a.id],
    "only their own row",
  );
  for (
    const secret of [
      "access_token",
      "refresh_token",
      "refresh_lease_id",
      "refresh_lease_until",
      "google_sub",
      "grant_id",
      "key_id",
      "*",
    ]
  ) {
    const read = await db.from(TABLE).select(secret).eq("user_id", a.id);
    assert.deepEqual(read.error?.code, "42501", `${secret} is not readable`);
    assert.deepEqual(read.data, null);
  }
});

Deno.test("RLS via PostgREST: a user can neither update nor delete their own row", async () => {
  const { a } = await seed();
  const db = userClient(await userToken(a.id));
  const writes = {
    "self-denial (lease far ahead)": db.from(TABLE)
      .update({ refresh_lease_until: "2999-01-01T00:00:00Z" }).eq("user_id", a.id),
    "expiry cleared": db.from(TABLE).update({ token_expiry: null }).eq("user_id", a.id),
    "rolled back ciphertext": db.from(TABLE).update({ access_token: "old" }).eq("user_id", a.id),
    "scopes": db.from(TABLE).update({ scopes: ["x"] }).eq("user_id", a.id),
    "delete without revoking": db.from(TABLE).delete().eq("user_id", a.id),
  };
  for (const [name, write] of Object.entries(writes)) {
    const { error } = await write;
    assert.deepEqual(error?.code, "42501", name);
  }
  const { data } = await serviceClient().from(TABLE).select("scopes, access_token")
    .eq("user_id", a.id).single();
  assert.deepEqual(data, { scopes: null, access_token: "a-access" }, "row unchanged");
});

Deno.test("RLS via PostgREST: a user cannot insert a row, for themself or another user", async () => {
  const { a } = await seed();
  const c = await createUser("rls-c");
  const db = userClient(await userToken(c.id));
  for (const userId of [c.id, a.id]) {
    const { error } = await db.from(TABLE).insert({
      user_id: userId,
      access_token: "x",
      refresh_token: "y",
    });
    assert.deepEqual(error?.code, "42501");
  }
  const { count } = await serviceClient().from(TABLE).select("*", { count: "exact", head: true })
    .eq("user_id", c.id);
  assert.deepEqual(count, 0);
});

Deno.test("RLS via PostgREST: the anon key reads and writes nothing", async () => {
  const { a } = await seed();
  const db = anonClient();
  const read = await db.from(TABLE).select("user_id").eq("user_id", a.id);
  assert(read.error !== null && (read.data ?? []).length === 0, "anon must not read rows");
  assert.deepEqual(read.error?.code, "42501");
  const write = await db.from(TABLE).update({ scopes: ["anon"] }).eq("user_id", a.id);
  assert.deepEqual(write.error?.code, "42501");
  const del = await db.from(TABLE).delete().eq("user_id", a.id);
  assert.deepEqual(del.error?.code, "42501");
  const { data } = await serviceClient().from(TABLE).select("scopes").eq("user_id", a.id).single();
  assert.deepEqual(data?.scopes, null);
});

Deno.test("RLS via PostgREST: the service key sees every row", async () => {
  const { a, b } = await seed();
  const { data, error } = await serviceClient().from(TABLE).select("user_id")
    .in("user_id", [a.id, b.id]).order("user_id");
  assert.deepEqual(error, null);
  assert.deepEqual(data?.map((r) => r.user_id), [a.id, b.id].sort());
});

Deno.test("RLS via PostgREST: the pending-flow table is closed to users and anon", async () => {
  const { a } = await seed();
  for (const db of [anonClient(), userClient(await userToken(a.id))]) {
    const { data, error } = await db.from("google_oauth_pending_flows").select("jti");
    assert(error !== null || (data ?? []).length === 0);
    assert.deepEqual(error?.code, "42501");
  }
});
