/**
 * `npm run schedule`: prints the SQL for Supabase Cron + Vault + pg_net, never the key; on the
 * local stack runs it up to pg_cron and pg_net (Vault is the stack's stand-in); against another
 * database URL runs every step, here failing, as it must, where the server has no pg_cron.
 */

import assert from "node:assert/strict";
import { queryRows } from "../local/stack/postgres.ts";
import { DENO } from "../local/stack/tools.ts";
import { stack } from "./support/stack.ts";

const stackFile = Deno.env.get("STACK_FILE") ?? ".local/stack.json";

async function schedule(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(DENO, {
    args: ["run", "-A", "local/schedule/main.ts", ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

const secrets = () =>
  queryRows(
    stack.db_url,
    "select name || '=' || decrypted_secret from vault.decrypted_secrets " +
      "where name in ('project_url', 'google_maintenance_key') order by name",
  );

Deno.test("schedule --print: the Cron, Vault and pg_net SQL, without the key", async () => {
  const out = await schedule(["--print", "--local", "--stack-file", stackFile]);
  assert.equal(out.code, 0, out.stderr);
  for (const part of ["vault.create_secret", "cron.schedule", "net.http_post", "*/5 * * * *"]) {
    assert.ok(out.stdout.includes(part), part);
  }
  assert.ok(!out.stdout.includes(stack.service_role_key), "the key is never printed");
});

Deno.test("schedule --local: runs up to pg_cron and pg_net, twice without harm", async () => {
  for (let run = 0; run < 2; run++) {
    const out = await schedule(["--local", "--stack-file", stackFile]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /Stopped before: Supabase Cron and pg_net/);
    assert.match(out.stdout, /\/functions\/v1\/google-maintenance \| t/, "what the job reads");
    assert.ok(!out.stdout.includes(stack.service_role_key), "the key is never printed");
  }
  assert.deepEqual(await secrets(), [
    `google_maintenance_key=${stack.service_role_key}`,
    `project_url=${stack.api_url}`,
  ]);
});

Deno.test("schedule --db-url: every step runs; a server without pg_cron stops it there", async () => {
  try {
    const args = ["--db-url", stack.db_url, "--project-url", "https://abc.supabase.co/"];
    const out = await schedule(args, { GOOGLE_MAINTENANCE_KEY: "sb_secret_test" });
    assert.equal(out.code, 1);
    assert.match(out.stdout, /create extension if not exists pg_cron/);
    assert.match(out.stderr, /pg_cron/);
    assert.deepEqual(await secrets(), [
      "google_maintenance_key=sb_secret_test",
      "project_url=https://abc.supabase.co",
    ]);
  } finally {
    // The stack's own values back.
    await schedule(["--local", "--stack-file", stackFile]);
  }
});

Deno.test("schedule: a bad schedule or a missing key changes nothing and says what to give", async () => {
  const before = await secrets();
  const bad = await schedule(["--local", "--stack-file", stackFile, "--every", "0 0 * * *'; drop"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not a cron schedule/);
  const noKey = await schedule(
    ["--db-url", stack.db_url, "--project-url", "https://abc.supabase.co"],
    { GOOGLE_MAINTENANCE_KEY: "" },
  );
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /\$GOOGLE_MAINTENANCE_KEY is empty/);
  assert.deepEqual(await secrets(), before);
});

Deno.test("schedule: a key that is not one token is refused, never echoed by a psql error", async () => {
  const before = await secrets();
  for (
    const key of ["sb_secret_abc\nLEAKME_xyz", "sb_secret_abc LEAKME_xyz", "sb_secret_\u0007LEAKME"]
  ) {
    const out = await schedule(
      ["--db-url", stack.db_url, "--project-url", "https://abc.supabase.co"],
      { GOOGLE_MAINTENANCE_KEY: key },
    );
    assert.equal(out.code, 2, JSON.stringify(key));
    assert.match(out.stderr, /\$GOOGLE_MAINTENANCE_KEY is not a key/);
    assert.ok(!`${out.stdout}${out.stderr}`.includes("LEAKME"), "no part of the key is printed");
  }
  assert.deepEqual(await secrets(), before);
});
