/**
 * Function processes started by the bench itself (cold start and memory), as local/stack starts
 * them, on a free port, so that one process's start and memory can be observed alone.
 */

import { functionCommand } from "../stack/functions.ts";
import { DENO } from "../stack/tools.ts";
import type { BenchContext } from "./context.ts";

/** The deployed functions the cold start and memory phases measure. */
export const FUNCTIONS: readonly string[] = [
  "google-connect",
  "google-callback",
  "google-disconnect",
  "google-status",
  "calendar-upcoming",
];

/** The entrypoints of the deployed functions, from --functions-dir when given. */
export function functionEntries(ctx: BenchContext): [string, string][] {
  return FUNCTIONS.map((f) => [f, `${ctx.functionsDir}/${f}/index.ts`]);
}

/**
 * A function process started as local/stack/functions.ts starts one, on `port`, with the stack's
 * function environment (or `env`).
 */
export function spawnFunction(
  ctx: BenchContext,
  entry: string,
  port: number,
  env: Record<string, string> = ctx.stack.info.function_env,
): Deno.ChildProcess {
  return new Deno.Command(DENO, {
    ...functionCommand(entry, port, env),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Milliseconds from `t0` (the spawn) to the first HTTP answer (any status below 500). */
export async function firstAnswer(
  url: string,
  child: Deno.ChildProcess,
  t0: number,
): Promise<number> {
  let exited = false;
  child.status.then(() => exited = true);
  for (;;) {
    if (exited) throw new Error(`${url}: process exited before answering`);
    if (performance.now() - t0 > 60_000) throw new Error(`${url}: no answer within 60 s`);
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.status < 500) return performance.now() - t0;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Stops `child` and waits for it to exit. */
export async function stopChild(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // Gone.
  }
  await child.status;
}
