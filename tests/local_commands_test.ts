/**
 * The npm commands a newcomer types first: help instead of a stack trace, a pre-hook that installs
 * the tools wherever a fresh clone needs them, and the stack's URLs as shell variables.
 */

import assert from "node:assert/strict";
import { DENO } from "../local/stack/tools.ts";
import { stack } from "./support/stack.ts";

async function run(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(DENO, {
    args: ["run", "-A", ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

const STACK_TRACE = /^\s+at .*:\d+:\d+\)?$/m;

Deno.test("npm run user -- --help prints its usage, not a stack trace", async () => {
  const help = await run(["local/stack/user_token.ts", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: npm run user -- <email>/);
  const bad = await run(["local/stack/user_token.ts", "not-an-email"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not an email address: not-an-email/);
  const noStack = await run(["local/stack/user_token.ts", "a@example.com"], {
    STACK_DIR: "/nonexistent-stack-dir",
  });
  assert.equal(noStack.code, 1);
  assert.match(noStack.stderr, /No local stack in \/nonexistent-stack-dir: start one/);
  for (const out of [help, bad, noStack]) assert.doesNotMatch(out.stderr, STACK_TRACE);
});

Deno.test("npm run add-to-project and npm run schedule print their usage with --help", async () => {
  for (
    const [script, usage] of [
      ["local/add_to_project/main.ts", "Usage: npm run add-to-project -- <app folder>"],
      ["local/schedule/main.ts", "Usage:\n  npm run schedule --"],
    ]
  ) {
    const out = await run([script!, "--help"]);
    assert.equal(out.code, 0, out.stderr);
    assert.ok(out.stdout.startsWith(usage!), out.stdout);
  }
});

Deno.test("start, test and bench install the tools first (a fresh clone has no deno on PATH)", async () => {
  const { scripts } = JSON.parse(await Deno.readTextFile("package.json")) as {
    scripts: Record<string, string>;
  };
  for (const name of ["start", "test", "bench"]) {
    assert.match(scripts[`pre${name}`] ?? "", /^bash local\/bin\/ensure_tools\.sh\b/, name);
  }
});

Deno.test("npm run status -- -o env: the stack's URLs and keys as shell variables", async () => {
  const out = await run(["local/stack/main.ts", "status", "--dir", stack.stack_dir, "-o", "env"]);
  assert.equal(out.code, 0, out.stderr);
  const vars = Object.fromEntries(
    out.stdout.trim().split("\n").map((l) => {
      const m = /^([A-Z_]+)="(.*)"$/.exec(l);
      assert.ok(m, `NAME="value": ${l}`);
      return [m[1]!, m[2]!];
    }),
  );
  assert.equal(vars.FUNCTIONS_URL, stack.functions_url);
  assert.equal(vars.API_URL, stack.api_url);
  assert.equal(vars.SERVICE_ROLE_KEY, stack.service_role_key);
  assert.equal(vars.BOT_KEY, stack.function_env.BOT_API_KEYS?.split(",")[0]);
});
