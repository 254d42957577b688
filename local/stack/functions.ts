/** Serves every Edge Function under supabase/functions, one supervised Deno process each. */

import { DENO } from "./tools.ts";
import { freePort, type ManagedProcess, spawnLogged, waitFor } from "./process.ts";

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

/** Function names as `supabase functions deploy` sees them: folders with an index.ts, not `_shared`. */
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

/** Starts one function and restarts it whenever it dies unasked, as the edge runtime would. */
export async function serveFunction(name: string, options: {
  env: Record<string, string>;
  logDir: string;
  /** The folder holding `<name>/index.ts` (supabase/functions by default). */
  dir?: string;
}): Promise<FunctionServer> {
  const dir = options.dir ?? FUNCTIONS_DIR;
  const port = freePort();
  const logFile = `${options.logDir}/function-${name}.log`;
  let stopping = false;
  let current!: ManagedProcess;

  const start = async (): Promise<void> => {
    current = await spawnLogged(name, DENO, {
      ...functionCommand(`${dir}/${name}/index.ts`, port, options.env),
      logFile,
    });
    const proc = current;
    await waitFor(`function ${name}`, async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return true;
    }, { exited: proc.status, timeoutMs: 60_000 });
    proc.status.then(() => {
      if (!stopping && current === proc) {
        start().catch((error) => console.error(`function ${name} failed to restart: ${error}`));
      }
    });
  };

  await start();
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
