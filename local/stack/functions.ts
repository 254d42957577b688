/** Serves every Edge Function under supabase/functions, one supervised Deno process each. */

import { DENO } from "./tools.ts";
import { onPort } from "./ports.ts";
import { type ManagedProcess, type ProcessGroup, spawnLogged, waitListening } from "./process.ts";

const FUNCTIONS_DIR = "supabase/functions";

/**
 * How a function process is started: Deno runs the entrypoint through function_host.ts on `port`,
 * with only `env` (plus PATH and HOME), as the edge runtime gives a function only its secrets.
 */
export function functionCommand(
  entry: string,
  port: number,
  env: Record<string, string>,
): { args: string[]; env: Record<string, string>; clearEnv: true } {
  return {
    args: [
      "run",
      "--quiet",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--config",
      "deno.json",
      "local/stack/function_host.ts",
      entry,
      String(port),
    ],
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "", ...env },
    clearEnv: true,
  };
}

/** Function names as `supabase functions deploy` sees them: folders with an index.ts, not `_google_calendar`. */
export function listFunctions(dir = FUNCTIONS_DIR): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isDirectory || entry.name.startsWith("_")) continue;
    try {
      Deno.statSync(`${dir}/${entry.name}/index.ts`);
      names.push(entry.name);
    } catch {
      // Not a function.
    }
  }
  return names.sort();
}

export interface FunctionServer {
  readonly name: string;
  readonly port: number;
  readonly logFile: string;
  pid(): number;
  /** Kills the process as a crash would; the supervisor starts a new one. */
  crash(): void;
  stop(): Promise<void>;
}

/**
 * What ends a process when someone means it to stop: Ctrl-C reaches every process of the
 * terminal's process group, closing the terminal sends SIGHUP, `kill` sends SIGTERM.
 */
const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Starts one function on a free port and restarts it whenever it dies unasked, as the edge
 * runtime would. It is never restarted once the stack is stopping, nor after a stop signal
 * reached it: Ctrl-C reaches the functions before the stack's own handler has run.
 */
export async function serveFunction(name: string, options: {
  env: Record<string, string>;
  logDir: string;
  /** The folder holding `<name>/index.ts` (supabase/functions by default). */
  dir?: string;
  /** The stack's processes; a stopping group means no restart. */
  group?: ProcessGroup;
}): Promise<FunctionServer> {
  const dir = options.dir ?? FUNCTIONS_DIR;
  const logFile = `${options.logDir}/function-${name}.log`;
  let stopping = false;
  let current!: ManagedProcess;

  const start = async (port: number): Promise<void> => {
    const proc = await spawnLogged(name, DENO, {
      ...functionCommand(`${dir}/${name}/index.ts`, port, options.env),
      logFile,
      ...(options.group ? { group: options.group } : {}),
    });
    current = proc;
    try {
      await waitListening(proc, port, { role: `function ${name}`, timeoutMs: 60_000 });
    } catch (error) {
      await proc.stop();
      throw error;
    }
    proc.status.then((status) => {
      if (stopping || options.group?.stopping || current !== proc) return;
      if (status.signal && STOP_SIGNALS.includes(status.signal)) return;
      start(port).catch((error) => console.error(`function ${name} failed to restart: ${error}`));
    });
  };

  const port = await onPort(`function ${name}`, null, async (port) => {
    await start(port);
    return port;
  });
  return {
    name,
    port,
    logFile,
    pid: () => current.pid,
    crash: () => Deno.kill(current.pid, "SIGKILL"),
    async stop() {
      stopping = true;
      await current.stop();
    },
  };
}
