/** Child processes of the local stack: spawned with their output in a log file, stopped on exit. */

import { freePort, listensOn, PortInUseError, saysAddressInUse } from "./ports.ts";

/** Re-exported for callers that picked ports from here before ports.ts existed. */
export { freePort };

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly status: Promise<Deno.CommandStatus>;
  /** The stop signal (SIGTERM by default), then SIGKILL if the process has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** The last few kilobytes of its output (to tell why it exited while starting). */
  recentOutput(): string;
}

/**
 * Every process a stack has started, so that stopping reaches all of them, including one still
 * starting. Once stopping, it spawns nothing more, and a supervisor asks `stopping` before any
 * restart.
 */
export class ProcessGroup {
  #live = new Set<ManagedProcess>();
  #stopping = false;
  /** Told the live processes whenever one starts or exits (the stack's pids.json). */
  onChange: (live: ManagedProcess[]) => void = () => {};

  get stopping(): boolean {
    return this.#stopping;
  }

  /** The processes running now, oldest first. */
  live(): ManagedProcess[] {
    return [...this.#live];
  }

  /** Records a spawned process until it exits. */
  add(proc: ManagedProcess): void {
    this.#live.add(proc);
    this.onChange(this.live());
    proc.status.then(() => {
      this.#live.delete(proc);
      if (!this.#stopping) this.onChange(this.live());
    });
  }

  /** Stops every process, newest first; nothing is started or restarted afterwards. */
  async stopAll(): Promise<void> {
    this.#stopping = true;
    for (const proc of this.live().reverse()) await proc.stop().catch(() => {});
  }
}

/** The group is stopping: the stack does not start another process. */
export class StoppingError extends Error {
  readonly code = "stopping";
  constructor(what: string) {
    super(`not starting ${what}: the stack is stopping`);
    this.name = "StoppingError";
  }
}

export interface SpawnOptions {
  args: string[];
  env?: Record<string, string>;
  /** Start from an empty environment rather than ours. */
  clearEnv?: boolean;
  cwd?: string;
  logFile: string;
  /** Postgres shuts down fast on SIGINT; SIGTERM would wait for every client. */
  stopSignal?: Deno.Signal;
  /** The stack's processes: the new one joins it, and none is spawned once it is stopping. */
  group?: ProcessGroup;
}

/**
 * Every child still running in this process. When the process ends without stopping its stack
 * (a test file whose last test failed, an uncaught error), they get their stop signal, so that
 * no stack is left running unowned. A SIGKILL gives no such chance: see stopLeftovers.
 */
const running = new Map<number, Deno.Signal>();
globalThis.addEventListener("unload", () => {
  for (const [pid, signal] of running) {
    try {
      Deno.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
});

/** Starts `command`, appending its stdout and stderr to `logFile` (never to our terminal). */
export async function spawnLogged(
  name: string,
  command: string,
  options: SpawnOptions,
): Promise<ManagedProcess> {
  if (options.group?.stopping) throw new StoppingError(name);
  const log = await Deno.open(options.logFile, { create: true, append: true });
  const child = new Deno.Command(command, {
    args: options.args,
    env: options.env ?? {},
    clearEnv: options.clearEnv ?? false,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let recent = "";
  const decoder = new TextDecoder();
  const remember = (chunk: Uint8Array) => {
    recent = (recent + decoder.decode(chunk, { stream: true })).slice(-4096);
  };
  const pumps = [child.stdout, child.stderr].map((stream) => pump(stream, log, remember));
  const status = child.status.then(async (s) => {
    await Promise.allSettled(pumps);
    log.close();
    return s;
  });
  let exited = false;
  running.set(child.pid, options.stopSignal ?? "SIGTERM");
  status.then(() => {
    exited = true;
    running.delete(child.pid);
  });
  const proc: ManagedProcess = {
    name,
    pid: child.pid,
    logFile: options.logFile,
    status,
    async stop(graceMs = 5000) {
      if (exited) return;
      signal(child, options.stopSignal ?? "SIGTERM");
      const timer = setTimeout(() => signal(child, "SIGKILL"), graceMs);
      await status;
      clearTimeout(timer);
    },
    recentOutput: () => recent,
  };
  options.group?.add(proc);
  return proc;
}

function signal(child: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch {
    // Already gone.
  }
}

async function pump(
  stream: ReadableStream<Uint8Array>,
  file: Deno.FsFile,
  remember: (chunk: Uint8Array) => void,
): Promise<void> {
  for await (const chunk of stream) {
    remember(chunk);
    await file.write(chunk);
  }
}

/** Runs a command to completion; throws with its output when it fails. */
export async function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string; stdoutOnly?: boolean } =
    {},
): Promise<string> {
  const child = new Deno.Command(command, {
    args,
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  const text = stdout + new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")} failed (exit ${out.code}):\n${text}`);
  }
  return options.stdoutOnly ? stdout : text;
}

/** Polls `probe` until it resolves true, or throws after `timeoutMs` naming `what`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs?: number; exited?: Promise<unknown> } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let gone = false;
  options.exited?.then(() => gone = true);
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${what} exited while starting`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${options.timeoutMs ?? 30_000} ms`);
}

/**
 * Waits until `proc` itself listens on `port` and `probe` (if any) succeeds. Another process
 * answering on the port does not count: that is how a taken port used to look ready. Throws a
 * PortInUseError when the process exits saying its port was taken.
 */
export async function waitListening(
  proc: ManagedProcess,
  port: number,
  options: { role: string; probe?: () => Promise<boolean>; timeoutMs?: number },
): Promise<void> {
  let gone = false;
  proc.status.then(() => gone = true);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (gone) {
      // Let the output pumps finish so the reason is in recentOutput().
      await proc.status;
      const output = proc.recentOutput();
      if (saysAddressInUse(output)) throw new PortInUseError(port, options.role, null);
      const last = output.trim().split("\n").slice(-5).join("\n");
      throw new Error(`${proc.name} exited while starting${last ? `:\n${last}` : ""}`);
    }
    // null: not allowed to look (another user's process); the probe decides alone.
    if (listensOn(proc.pid, port) !== false) {
      if (!options.probe || await options.probe().catch(() => false)) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${proc.name} did not become ready within ${options.timeoutMs ?? 30_000} ms`);
}

/** When `pid` started (in clock ticks since boot), or null when there is no such process. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command may contain spaces and parentheses: the fields follow the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") return null; // Exited, not yet reaped.
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** A running process as /proc shows it (zombies excluded: they have exited). */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
  command: string;
}

/** Every running process on the machine, from /proc. */
export function listProcesses(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const command = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state === "Z") continue;
      entries.push({ pid, ppid: Number(ppid), pgid: Number(pgid), command });
    } catch {
      // Exited meanwhile.
    }
  }
  return entries;
}

/** The running descendants of `pid` (children, their children, …). */
export function descendants(pid: number, all = listProcesses()): ProcessEntry[] {
  const found: ProcessEntry[] = [];
  const parents = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
    }
  }
  return found;
}

/** True once `url` answers with a status below 500. */
export async function httpReady(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  return res.status < 500;
}
