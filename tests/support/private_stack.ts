/**
 * A private stack for the resilience suite: the tests that stop PostgREST, restart Postgres or
 * kill a function need the processes in their own hands, so each resilience test file starts its
 * own stack in-process (free ports, fresh database) and stops it in its last test.
 *
 * Also, for the local stack's own tests: a stack started as `npm start` in a process group of
 * its own, what it runs (processes, ports), what is left of it once stopped, and a copy of the
 * repository to start one from elsewhere.
 */

import { removeStackDir, type Stack, type StackInfo, startStack } from "../../local/stack/stack.ts";
import { descendants, listProcesses } from "../../local/stack/process.ts";
import { listeningPortsOf, portIsFree, portOwner } from "../../local/stack/ports.ts";
import { DENO } from "../../local/stack/tools.ts";
import { StackClient } from "./stack_client.ts";

export type {
  CallbackAnswer,
  DecryptedRow,
  EmulatorAccount,
  EmulatorStats,
  TestUser,
} from "./stack_client.ts";

/**
 * Starts a fresh private stack in a folder of its own, `.local/resilience-stack/<suite>-<random>`
 * (two runs of the suite at once never share one), removed with its cluster on stop.
 */
export async function startPrivateStack(
  suite: string,
  options: { functionEnv?: Record<string, string> } = {},
): Promise<PrivateStack> {
  await Deno.mkdir(".local/resilience-stack", { recursive: true });
  const dir = await Deno.makeTempDir({ dir: ".local/resilience-stack", prefix: `${suite}-` });
  try {
    const stack = await startStack({
      dir,
      ports: "auto",
      ...(options.functionEnv ? { functionEnv: options.functionEnv } : {}),
    });
    return new PrivateStack(stack);
  } catch (error) {
    await removeStackDir(dir);
    throw error;
  }
}

/** Starts the stack on first use; every test of a file shares it. */
export function lazyPrivateStack(
  suite: string,
  options: { functionEnv?: Record<string, string> } = {},
): { get(): Promise<PrivateStack>; stop(): Promise<void> } {
  let started: Promise<PrivateStack> | null = null;
  return {
    get: () => started ??= startPrivateStack(suite, options),
    async stop() {
      if (started) await (await started.catch(() => null))?.stop();
      started = null;
    },
  };
}

/** A StackClient that also holds the stack's processes. */
export class PrivateStack extends StackClient {
  readonly stack: Stack;

  constructor(stack: Stack) {
    super(stack.info, stack.secrets.user_signing_jwk);
    this.stack = stack;
  }

  /** Stops the stack and removes its folder and cluster. */
  async stop(): Promise<void> {
    await this.stack.stop();
    await removeStackDir(this.stack.info.stack_dir);
  }
}

/** Polls `probe` until it returns true; throws naming `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await probe().catch(() => false)) return Math.round(performance.now() - start);
    if (performance.now() - start > timeoutMs) {
      throw new Error(`${what}: not within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The names of the values in `secrets` that appear in `logs` (each must be a real value). */
export function findLeaks(logs: string, secrets: Map<string, string>): string[] {
  const leaks: string[] = [];
  for (const [name, value] of secrets) {
    if (!value || value.length < 16) throw new Error(`${name} is not a real secret value`);
    if (logs.includes(value)) leaks.push(name);
  }
  return leaks;
}

/**
 * Adds the stack's own secrets to `seen`, then checks that no value in `seen` appears in any
 * function's output; records the counts in `figures` and returns the leaked names.
 */
export async function checkFunctionLogs(
  s: PrivateStack,
  seen: Map<string, string>,
  figures: Record<string, unknown>,
): Promise<string[]> {
  for (const [name, value] of Object.entries(s.secrets())) seen.set(name, value);
  const leaks = findLeaks(await s.functionLogs(), seen);
  figures.log_values_checked = seen.size;
  figures.log_leaks = leaks.length;
  return leaks;
}

/** A stack started as a person starts one: `npm start` (or main.ts) in a terminal of its own. */
export interface CliStack {
  /** The process we spawned: the leader of the stack's process group (npm, or main.ts itself). */
  child: Deno.ChildProcess;
  /** The process group a terminal would signal on Ctrl-C. */
  pgid: number;
  info: StackInfo;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the exit code once the spawned process has exited. */
  exited: Promise<number>;
  /** Started through npm. */
  npm: boolean;
  /** For finally blocks: ends whatever still runs of it (SIGTERM to its group) and waits. */
  kill(): Promise<void>;
}

/**
 * Starts a stack with `npm start` (npm: true, without its install step) or main.ts in `cwd`, in
 * a new process group as a terminal would, on free ports, and waits until it is up.
 */
export async function startCliStack(options: {
  cwd?: string;
  npm?: boolean;
  args?: string[];
  timeoutMs?: number;
}): Promise<CliStack> {
  const cwd = options.cwd ?? Deno.cwd();
  const stackArgs = ["--ports", "auto", ...(options.args ?? [])];
  const command = options.npm
    ? ["npm", "start", "--silent", "--ignore-scripts", "--", ...stackArgs]
    : [`${cwd}/${DENO}`, "run", "--allow-all", "local/stack/main.ts", ...stackArgs];
  const child = new Deno.Command("setsid", {
    args: command,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const exited = child.status.then(async (s) => {
    await pumps.catch(() => {});
    return s.code;
  });
  let done = false;
  exited.then(() => done = true);
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (!text.includes("Press Ctrl-C to stop.")) {
    if (done || Date.now() > deadline) {
      if (!done) child.kill("SIGKILL");
      throw new Error(`the stack did not start in ${cwd}:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const file = text.match(/Stack file: (\S+)/)?.[1];
  if (!file) throw new Error(`no stack file in the status table:\n${text}`);
  const info: StackInfo = JSON.parse(await Deno.readTextFile(file));
  return {
    child,
    pgid: child.pid,
    info,
    output: () => text,
    exited,
    npm: !!options.npm,
    async kill() {
      if (!done) {
        try {
          Deno.kill(-child.pid, "SIGTERM");
        } catch {
          // Gone meanwhile.
        }
      }
      await exited;
    },
  };
}

/** Every process and listening port of a running stack, to check none is left after it stops. */
export interface StackFootprint {
  pgid: number;
  pids: number[];
  ports: number[];
}

/** The stack's processes: its process group, the main process and all its descendants. */
export function footprint(pgid: number, mainPid: number): StackFootprint {
  const all = listProcesses();
  const pids = new Set([mainPid]);
  for (const p of all) if (p.pgid === pgid) pids.add(p.pid);
  for (const root of [...pids]) for (const p of descendants(root, all)) pids.add(p.pid);
  return { pgid, pids: [...pids], ports: listeningPortsOf([...pids]) };
}

/**
 * What is left of a stopped stack: its processes still running (by pid, by process group, or a
 * child of one of them), and its ports still bound by such a process or one we cannot name.
 */
export function leftovers(before: StackFootprint): { processes: string[]; ports: number[] } {
  const all = listProcesses();
  const old = new Set(before.pids);
  const left = all.filter((p) => old.has(p.pid) || p.pgid === before.pgid || old.has(p.ppid));
  const leftPids = new Set(left.map((p) => p.pid));
  const ports = before.ports.filter((port) => {
    if (portIsFree(port)) return false;
    const owner = portOwner(port);
    return !owner || leftPids.has(owner.pid) || old.has(owner.pid);
  });
  return { processes: left.map((p) => `${p.pid} ${p.command}`), ports };
}

/** A copy of this repository's working tree in `dest` (node_modules linked, not installed). */
export async function copyRepository(dest: string): Promise<void> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error("git ls-files failed");
  const files = new TextDecoder().decode(out.stdout).split("\0").filter(Boolean);
  for (const file of files) {
    try {
      const stat = await Deno.lstat(file);
      if (!stat.isFile) continue;
    } catch {
      continue; // Deleted in the working tree.
    }
    const target = `${dest}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(file, target);
  }
  await Deno.symlink(await Deno.realPath("node_modules"), `${dest}/node_modules`);
}
