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

Deno.test("RLS via PostgREST: a user's client sees only their own row", async () => {
  const { a, b } = await seed();
  const db = userClient(await userToken(a.id));
  const { data, error } = await db.from(TABLE).select("user_id").in("user_id", [a.id, b.id]);
  assert.deepEqual(error, null);
  assert.deepEqual(data, [{ user_id: a.id }]);
});

Deno.test("RLS via PostgREST: a user can update their row but not another user's", async () => {
  const { a, b } = await seed();
  const db = userClient(await userToken(a.id));
  const own = await db.from(TABLE).update({ scopes: ["x"] }).eq("user_id", a.id).select("user_id");
  assert.deepEqual(own.data, [{ user_id: a.id }]);
  const other = await db.from(TABLE).update({ scopes: ["x"] }).eq("user_id", b.id).select(
    "user_id",
  );
  assert.deepEqual(other.data, []);
  const { data } = await serviceClient().from(TABLE).select("scopes").eq("user_id", b.id).single();
  assert.deepEqual(data?.scopes, null);
});

Deno.test("RLS via PostgREST: a user cannot insert a row for another user", async () => {
  const { a } = await seed();
  const c = await createUser("rls-c");
  const db = userClient(await userToken(a.id));
  const { error } = await db.from(TABLE).insert({
    user_id: c.id,
    access_token: "x",
    refresh_token: "y",
  });
  assert.deepEqual(error?.code, "42501");
  const { count } = await serviceClient().from(TABLE).select("*", { count: "exact", head: true })
    .eq("user_id", c.id);
  assert.deepEqual(count, 0);
});

Deno.test("RLS via PostgREST: a user's delete touches only their own row", async () => {
  const { a, b } = await seed();
  const db = userClient(await userToken(a.id));
  const other = await db.from(TABLE).delete().eq("user_id", b.id).select("user_id");
  assert.deepEqual(other.data, []);
  const own = await db.from(TABLE).delete().eq("user_id", a.id).select("user_id");
  assert.deepEqual(own.data, [{ user_id: a.id }]);
  const { data } = await serviceClient().from(TABLE).select("user_id").in("user_id", [a.id, b.id]);
  assert.deepEqual(data, [{ user_id: b.id }]);
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
