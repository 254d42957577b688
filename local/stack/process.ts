/** Child processes of the local stack: spawned with their output in a log file, stopped on exit. */

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly status: Promise<Deno.CommandStatus>;
  /** The stop signal (SIGTERM by default), then SIGKILL if the process has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
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
}

/** Starts `command`, appending its stdout and stderr to `logFile` (never to our terminal). */
export async function spawnLogged(
  name: string,
  command: string,
  options: SpawnOptions,
): Promise<ManagedProcess> {
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
  const pumps = [child.stdout, child.stderr].map((stream) => pump(stream, log));
  const status = child.status.then(async (s) => {
    await Promise.allSettled(pumps);
    log.close();
    return s;
  });
  let exited = false;
  status.then(() => exited = true);
  return {
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
  };
}

function signal(child: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch {
    // Already gone.
  }
}

async function pump(stream: ReadableStream<Uint8Array>, file: Deno.FsFile): Promise<void> {
  for await (const chunk of stream) await file.write(chunk);
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

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
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

/** True once `url` answers with a status below 500. */
export async function httpReady(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  return res.status < 500;
}
