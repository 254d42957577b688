/**
 * The local stack itself (`npm start`): a second stack in its own folder, killed and restarted,
 * keeps its data; Ctrl-C leaves no process behind. Also the gateway's Supabase URL shapes.
 */

import assert from "node:assert/strict";
import { sql, stack } from "./support/stack.ts";
import type { StackInfo } from "../local/stack/stack.ts";
import { DENO } from "../local/stack/tools.ts";
import { removeStackDir } from "../local/stack/stack.ts";

/** The pids a stack recorded in pids.json. */
async function recordedPids(dir: string): Promise<number[]> {
  const entries: { pid: number }[] = JSON.parse(await Deno.readTextFile(`${dir}/pids.json`));
  return entries.map((e) => e.pid);
}

function cliArgs(dir: string, extra: string[] = []): string[] {
  return ["run", "--allow-all", "local/stack/main.ts", "--dir", dir, "--ports", "auto", ...extra];
}

async function startCli(
  dir: string,
  extra: string[] = [],
): Promise<{ child: Deno.ChildProcess; info: StackInfo }> {
  await Deno.remove(`${dir}/stack.json`).catch(() => {});
  const child = new Deno.Command(DENO, {
    args: cliArgs(dir, extra),
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  // The status table is printed once the stack is up; read until the consent link line.
  let out = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  while (!out.includes("Press Ctrl-C to stop.")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`npm start exited early:\n${out}`);
    out += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  assert(out.includes("API URL"), "status table printed");
  assert(out.includes("/o/oauth2/v2/auth?"), "a consent link printed");
  return { child, info: JSON.parse(await Deno.readTextFile(`${dir}/stack.json`)) };
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return !Deno.readTextFileSync(`/proc/${pid}/status`).includes("State:\tZ");
  } catch {
    return false;
  }
}

async function psqlAt(dbUrl: string, query: string): Promise<string> {
  const out = await new Deno.Command("psql", { args: [dbUrl, "-XAtqc", query] }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test({
  name: "local stack: a killed stack restarts with its data, and Ctrl-C stops every process",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: ".local", prefix: "restart-test-" });
    try {
      const first = await startCli(dir);
      const email = `persist-${crypto.randomUUID()}@example.com`;
      const id = await psqlAt(
        first.info.db_url,
        `insert into auth.users (email) values ('${email}') returning id`,
      );
      await psqlAt(
        first.info.db_url,
        `insert into google_calendar_tokens (user_id, access_token, refresh_token)
         values ('${id}', 'a', 'r')`,
      );
      const pids = await recordedPids(dir);
      assert(pids.length >= 5, `postgres, postgrest, the emulator, the functions: ${pids}`);
      // As if the terminal was closed: the stack gets no chance to clean up.
      first.child.kill("SIGKILL");
      await first.child.status;

      const second = await startCli(dir);
      assert.deepEqual(
        await psqlAt(
          second.info.db_url,
          `select count(*) from google_calendar_tokens where user_id = '${id}'`,
        ),
        "1",
      );
      for (const pid of pids) assert(!alive(pid), `leftover process ${pid} was stopped`);
      const secondPids = await recordedPids(dir);

      second.child.kill("SIGINT");
      assert((await second.child.status).success, "Ctrl-C exits cleanly");
      for (const pid of [...secondPids, second.child.pid]) {
        assert(!alive(pid), `process ${pid} is gone after Ctrl-C`);
      }
      const postmaster = await Deno.stat(`${second.info.db_data_dir}/postmaster.pid`).then(
        () => true,
        () => false,
      );
      assert(!postmaster, "postgres shut down");
    } finally {
      await removeStackDir(dir);
    }
  },
});

Deno.test({
  name: "local stack: npm start takes supabase/functions/.env over its generated values",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: ".local", prefix: "env-file-test-" });
    try {
      const envFile = `${dir}/functions.env`;
      await Deno.writeTextFile(
        envFile,
        "HTTP_TIMEOUT_MS=4321\nSUPABASE_URL=https://not-local.example\nMY_OWN_SETTING='kept'\n",
      );
      const { child, info } = await startCli(dir, ["--env-file", envFile]);
      child.kill("SIGINT");
      assert((await child.status).success, "Ctrl-C exits cleanly");
      assert.deepEqual(info.function_env.HTTP_TIMEOUT_MS, "4321");
      assert.deepEqual(info.function_env.MY_OWN_SETTING, "kept");
      assert.deepEqual(info.function_env.SUPABASE_URL, info.api_url, "SUPABASE_* is the stack's");
      assert(info.function_env.OAUTH_STATE_SECRET!.length >= 32, "the rest is generated");
    } finally {
      await removeStackDir(dir);
    }
  },
});

Deno.test("local stack: a bad value in the .env file stops npm start with the variable named", async () => {
  const dir = await Deno.makeTempDir({ dir: ".local", prefix: "env-file-test-" });
  try {
    const envFile = `${dir}/functions.env`;
    await Deno.writeTextFile(envFile, "OAUTH_STATE_SECRET=too-short\n");
    const out = await new Deno.Command(DENO, {
      args: cliArgs(dir, ["--env-file", envFile]),
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.deepEqual(out.code, 1, stderr);
    assert(stderr.includes("OAUTH_STATE_SECRET must be at least 32 bytes"), stderr);
    assert(stderr.includes(envFile), stderr);
    assert(!stderr.includes("too-short"), "the value itself is not printed");
    const pids = await Deno.stat(`${dir}/pids.json`).then(() => true, () => false);
    assert(!pids, "everything it had started was stopped");
  } finally {
    await removeStackDir(dir);
  }
});

Deno.test("local stack: the gateway serves the JWKS with the user-token key and no private part", async () => {
  const res = await fetch(stack.jwks_url);
  const body = await res.json();
  assert.deepEqual(res.status, 200);
  assert.deepEqual(body.keys.length, 1);
  assert.deepEqual(body.keys[0].alg, "ES256");
  assert(!("d" in body.keys[0]), "no private key material");
});

Deno.test("local stack: migrations were applied by the Supabase CLI and recorded", async () => {
  const versions = await sql(
    "select version from supabase_migrations.schema_migrations order by 1",
  );
  const files = [...Deno.readDirSync("supabase/migrations")].map((e) => e.name.split("_")[0]!)
    .sort();
  assert.deepEqual(versions, files);
});

Deno.test("local stack: an unknown function is a 404 from the gateway", async () => {
  const res = await fetch(`${stack.functions_url}/no-such-function`);
  await res.body?.cancel();
  assert.deepEqual(res.status, 404);
});
