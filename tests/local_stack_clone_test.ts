/**
 * The local stack from a clone anywhere, as a new user runs it: as root under a 0700 folder
 * (root's home, `mktemp -d`), where the postgres user cannot reach the clone. `npm start`,
 * `npm run status`, a second `npm start` (refused, the first unharmed), `npm stop`; and a private
 * test stack from the same clone. The folders' permissions are left as they were.
 */

import assert from "node:assert/strict";
import {
  type CliStack,
  copyRepository,
  footprint,
  leftovers,
  startCliStack,
} from "./support/private_stack.ts";
import { removeStackDir } from "../local/stack/stack.ts";
import { DENO } from "../local/stack/tools.ts";

const asRoot = Deno.uid() === 0;

/** A private folder holding a clone of this repository: `<0700 tmp>/home/clone`. */
async function privateClone(): Promise<{ root: string; home: string; clone: string }> {
  const root = await Deno.makeTempDir({ prefix: "stack-clone-test-" });
  const home = `${root}/home`;
  await Deno.mkdir(home, { mode: 0o700 });
  await Deno.chmod(root, 0o700);
  await Deno.chmod(home, 0o700);
  const clone = `${home}/clone`;
  await copyRepository(clone);
  return { root, home, clone };
}

async function npm(cwd: string, ...args: string[]): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command("npm", {
    args: [...args, "--silent", "--ignore-scripts"],
    cwd,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

function mode(path: string): number {
  return Deno.statSync(path).mode! & 0o777;
}

Deno.test({
  name:
    "local stack: npm start, status, a second start and npm stop from a clone under a 0700 folder",
  ignore: !asRoot,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { root, home, clone } = await privateClone();
    let stack: CliStack | null = null;
    try {
      stack = await startCliStack({ cwd: clone, npm: true });
      const before = footprint(stack.pgid, stack.info.pid!);
      assert(
        stack.output().includes("Database files: /"),
        "the status table says where the cluster lives",
      );
      assert(
        !stack.info.db_data_dir!.startsWith(root),
        "the cluster is outside the private folder",
      );
      assert.deepEqual(mode(root), 0o700, "the private folder was not opened up");
      assert.deepEqual(mode(home), 0o700, "nor the home folder");

      const status = await npm(clone, "run", "status");
      assert.deepEqual(status.code, 0, status.text);
      assert(status.text.includes(`API URL: ${stack.info.api_url}`), status.text);
      assert(status.text.includes(`Database files: ${stack.info.db_data_dir}`), status.text);

      const second = await npm(clone, "start", "--", "--ports", "auto");
      assert(second.code !== 0, `a second npm start fails:\n${second.text}`);
      assert(second.text.includes("already running"), second.text);
      assert(second.text.includes(stack.info.api_url), `it names the API URL:\n${second.text}`);
      assert(second.text.includes(`pid ${stack.info.pid}`), `and the pid:\n${second.text}`);
      const jwks = await fetch(stack.info.jwks_url);
      await jwks.body?.cancel();
      assert.deepEqual(jwks.status, 200, "the first stack still answers");
      const stackFile = await Deno.stat(`${stack.info.stack_dir}/stack.json`).then(() => true);
      assert(stackFile, "and still has its stack file");

      const stop = await npm(clone, "stop");
      assert.deepEqual(stop.code, 0, stop.text);
      assert(stop.text.includes(`Stopped the local stack`), stop.text);
      assert.deepEqual(await stack.exited, 0, stack.output());
      const left = leftovers(before);
      assert.deepEqual(left.processes, [], "npm stop left no process");
      assert.deepEqual(left.ports, [], "npm stop left no port bound");

      const after = await npm(clone, "run", "status");
      assert.deepEqual(after.code, 1, after.text);
      assert(after.text.includes("No local stack is running"), after.text);
    } finally {
      await stack?.kill();
      await removeStackDir(`${clone}/.local`);
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "local stack: a private test stack starts from a clone under a 0700 folder",
  ignore: !asRoot,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { root, home, clone } = await privateClone();
    try {
      const script = `
        import { startPrivateStack } from "./tests/support/private_stack.ts";
        const s = await startPrivateStack("clone");
        const rows = await s.sql("select count(*) from supabase_migrations.schema_migrations");
        console.log(JSON.stringify({ rows, dir: s.stack.info.stack_dir }));
        await s.stop();
      `;
      const out = await new Deno.Command(`${clone}/${DENO}`, {
        args: ["eval", "--config", "deno.json", script],
        cwd: clone,
        stdin: "null",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert(out.success, stderr);
      const result = JSON.parse(new TextDecoder().decode(out.stdout));
      assert(Number(result.rows[0]) > 0, "the migrations were applied");
      assert(String(result.dir).startsWith(clone), "the stack's folder is in the clone");
      assert.deepEqual(mode(root), 0o700, "the private folder was not opened up");
      assert.deepEqual(mode(home), 0o700, "nor the home folder");
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
