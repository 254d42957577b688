/**
 * `npm test`: the whole suite. `deno fmt --check`, `deno lint` and `deno check` over all code;
 * the unit tests beside the modules (supabase/functions, local: no stack, seconds); then against
 * one stack: pgTAP (pg_prove), the Supabase advisors and the Deno tests of tests/ (which include
 * the browser run and the database-types check). Ends with the total time and one line
 * `N passed, N failed` counting every test that ran; no colour codes (NO_COLOR for every child). `npm run test:unit` runs the unit tier alone.
 *
 * The stack: STACK_FILE names a running one (CI, `npm start`, or another Supabase stack);
 * without it a private stack is started on free ports in a folder of its own,
 * .local/test-stack-<random>, and stopped and removed after (also on Ctrl-C), so two runs in one
 * clone never share a folder or a database.
 */

import { runningStack } from "../stack/lock.ts";
import { StoppingError } from "../stack/process.ts";
import {
  removeStackDir,
  type Stack,
  type StackInfo,
  startStack,
  stopLeftovers,
} from "../stack/stack.ts";
import { DENO, SUPABASE_CLI, supabaseCliEnv } from "../stack/tools.ts";

interface Tally {
  name: string;
  passed: number;
  failed: number;
}

/** When the run started: the total time is printed before the summary line. */
const runStarted = performance.now();
const tallies: Tally[] = [];
let stack: Stack | null = null;
const abort = new AbortController();
let starting: Promise<unknown> = Promise.resolve();
let info: StackInfo;

tallies.push(...await staticChecks());
tallies.push(await denoTests("unit tests", ["supabase/functions", "local"], {}));

const stackFile = Deno.env.get("STACK_FILE");
if (stackFile) {
  info = JSON.parse(await Deno.readTextFile(stackFile));
  console.log(`Using the stack described by ${stackFile} (${info.api_url}).`);
} else {
  console.log("Starting a private stack on free ports…");
  await removeOldTestStacks();
  // A fresh database each run: the suite never depends on what an earlier run left behind.
  await Deno.mkdir(".local", { recursive: true });
  const dir = await Deno.makeTempDir({ dir: ".local", prefix: "test-stack-" });
  stopOnSignals(dir);
  const started = startStack({ dir, ports: "auto", signal: abort.signal });
  starting = started;
  try {
    stack = await started;
  } catch (error) {
    // Stopped by a signal while starting: stopOnSignals() cleans up and exits.
    if (error instanceof StoppingError) await new Promise(() => {});
    throw error;
  }
  info = stack.info;
}

try {
  tallies.push(await pgTap(info.db_url));
  tallies.push(await advisors(info.db_url));
  tallies.push(
    await denoTests("deno test tests/", ["tests/"], {
      STACK_FILE: stackFile ?? `${info.stack_dir}/stack.json`,
    }),
  );
} finally {
  await stopPrivateStack();
}

console.log("");
for (const t of tallies) console.log(`  ${t.name}: ${t.passed} passed, ${t.failed} failed`);
const passed = tallies.reduce((n, t) => n + t.passed, 0);
const failed = tallies.reduce((n, t) => n + t.failed, 0);
const seconds = Math.round((performance.now() - runStarted) / 1000);
console.log(`Total time: ${Math.floor(seconds / 60)} min ${seconds % 60} s`);
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);

/** The private stack's folder (and cluster) go when the run ends, however it ends. */
async function stopPrivateStack(): Promise<void> {
  await stack?.stop();
  if (stack) await removeStackDir(stack.info.stack_dir);
  stack = null;
}

/** Ctrl-C, SIGTERM or a closed terminal: stop the private stack rather than leave it running. */
function stopOnSignals(dir: string): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    abort.abort();
    await starting.catch(() => {});
    await stopPrivateStack();
    await removeStackDir(dir);
    Deno.exit(130);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    Deno.addSignalListener(signal, stop);
  }
}

/**
 * Folders of earlier runs that were killed outright or stopped early: their private stack, the
 * resilience tests' and the local stack tests' (no stack runs there any more, and none was made
 * in the last minute).
 */
async function removeOldTestStacks(): Promise<void> {
  const old: string[] = [];
  const patterns = [
    [".local", /^test-stack(-|$)|^[a-z-]+-test-[0-9a-f]+$/], // also the local_stack tests' folders
    [".local/resilience-stack", /./],
  ] as const;
  for (const [parent, pattern] of patterns) {
    try {
      for await (const entry of Deno.readDir(parent)) {
        if (entry.isDirectory && pattern.test(entry.name)) old.push(`${parent}/${entry.name}`);
      }
    } catch {
      // No such folder.
    }
  }
  for (const dir of old) {
    const age = Date.now() - ((await Deno.stat(dir)).mtime?.getTime() ?? Date.now());
    if (age < 60_000) continue;
    const running = await runningStack(dir);
    if (running) {
      // A local_stack test's `npm start` (in a session of its own) whose test process was
      // killed: nobody will stop it. Any other running stack is left alone.
      if (!/-test-[0-9a-f]+$/.test(dir) || !sessionOrphaned(running.pid)) continue;
      Deno.kill(running.pid, "SIGTERM");
      const deadline = Date.now() + 15_000;
      while (await runningStack(dir) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      if (await runningStack(dir)) continue;
    }
    await stopLeftovers(dir);
    await removeStackDir(dir);
  }
}

/** True when the session `pid` belongs to was started by a process that has since died. */
function sessionOrphaned(pid: number): boolean {
  const fields = (p: number) => {
    const stat = Deno.readTextFileSync(`/proc/${p}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  };
  try {
    const session = Number(fields(pid)[3]);
    return Number(fields(session)[1]) === 1;
  } catch {
    return false;
  }
}

/** Runs a command with its output shown live, and returns that output. */
async function runShown(cmd: string, args: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command(cmd, {
    args,
    // No colour codes in the logs (Deno, the Supabase CLI and others honour NO_COLOR).
    env: { ...env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>, out: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      await out.write(chunk);
    }
  };
  await Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
  const status = await child.status;
  return { success: status.success, text };
}

/** Formatting, lint and types over every TypeScript file; each counts as one test. */
async function staticChecks(): Promise<Tally[]> {
  const checks: [string, string[]][] = [
    ["deno fmt --check", ["fmt", "--check"]],
    ["deno lint", ["lint"]],
    ["deno check", ["check", "supabase/functions", "local", "tests"]],
  ];
  const tallies: Tally[] = [];
  for (const [name, args] of checks) {
    console.log(`\n== ${name} ==`);
    const { success } = await runShown(DENO, args);
    tallies.push({ name, passed: success ? 1 : 0, failed: success ? 0 : 1 });
  }
  return tallies;
}

/** pgTAP files under supabase/tests/database, one `ok`/`not ok` line per assertion. */
async function pgTap(dbUrl: string): Promise<Tally> {
  console.log("\n== pgTAP (pg_prove supabase/tests/database) ==");
  const files = [...Deno.readDirSync("supabase/tests/database")]
    .filter((e) => e.name.endsWith(".sql")).map((e) => `supabase/tests/database/${e.name}`).sort();
  const { success, text } = await runShown("pg_prove", ["-v", "-d", dbUrl, ...files]);
  const passed = text.match(/^\s*ok \d+/gm)?.length ?? 0;
  let failed = text.match(/^\s*not ok \d+/gm)?.length ?? 0;
  // A file that died or ran fewer tests than planned fails even without a `not ok` line.
  if (!success && failed === 0) failed = 1;
  return { name: "pgTAP", passed, failed };
}

/** Supabase's database advisors (splinter): no warning or error on our objects. */
async function advisors(dbUrl: string): Promise<Tally> {
  console.log("\n== supabase db advisors ==");
  const { success } = await runShown(SUPABASE_CLI, [
    "db",
    "advisors",
    `--remote=${dbUrl}`,
    "--type",
    "all",
    "--level",
    "warn",
    "--fail-on",
    "warn",
  ], supabaseCliEnv());
  return { name: "advisors", passed: success ? 1 : 0, failed: success ? 0 : 1 };
}

/** `deno test <paths>`, counted from its JUnit report. */
async function denoTests(
  name: string,
  paths: string[],
  env: Record<string, string>,
): Promise<Tally> {
  console.log(`\n== ${name} (deno test ${paths.join(" ")}) ==`);
  const junit = await Deno.makeTempFile({ suffix: ".xml" });
  const { success } = await runShown(DENO, [
    "test",
    "--allow-all",
    "--config",
    "deno.json",
    `--junit-path=${junit}`,
    ...paths,
  ], { ...Deno.env.toObject(), ...env });
  const xml = await Deno.readTextFile(junit).catch(() => "");
  await Deno.remove(junit).catch(() => {});
  const total = Number(xml.match(/<testsuites[^>]*\btests="(\d+)"/)?.[1] ?? 0);
  const failures = Number(xml.match(/<testsuites[^>]*\bfailures="(\d+)"/)?.[1] ?? 0);
  const errors = Number(xml.match(/<testsuites[^>]*\berrors="(\d+)"/)?.[1] ?? 0);
  let failed = failures + errors;
  if (!success && failed === 0) failed = 1; // e.g. a type error before any test ran
  return { name, passed: total - failures - errors, failed };
}
