/**
 * A private stack for the resilience suite: the tests that stop PostgREST, restart Postgres or
 * kill a function need the processes in their own hands, so each resilience test file starts its
 * own stack in-process (free ports, fresh database) and stops it in its last test.
 */

import { removeStackDir, type Stack, startStack } from "../../local/stack/stack.ts";
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

/** Runs `task` over `items` with at most `concurrency` at a time, results in order. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
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
