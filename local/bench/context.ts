/**
 * What every bench phase is given: the private stack, the sizes of this run, a log, and the few
 * helpers the phases share (users, a load run in its own process). A phase reads `BenchContext`
 * and returns its result; it never reads flags or the environment itself.
 */

import { DENO } from "../stack/tools.ts";
import { queryRows } from "../stack/postgres.ts";
import type { Stack } from "../stack/stack.ts";
import type { LoadResult, LoadSpec } from "./load_client.ts";
import type { Plan } from "./plan.ts";
import type { TableRow } from "./report.ts";

/** Where the results (and the load specs, briefly) are written. */
export const OUT_DIR = ".local/bench";

/** Everything a phase may use. */
export interface BenchContext {
  stack: Stack;
  /** The service key as the bot sends it, with a JSON content type. */
  serviceHeaders: Record<string, string>;
  /** The service key as PostgREST takes it. */
  restHeaders: Record<string, string>;
  plan: Plan;
  /** supabase/functions, or the modified copy given with --functions-dir. */
  functionsDir: string;
  /** --memory-only: the function names the memory phase measures. */
  memoryOnly?: string[];
  /** A connected user with a valid token, made on first use and shared by the phases. */
  connectedUser(): Promise<string>;
  /** Callback links used once: the callback phase leaves its links here for the memory phase. */
  usedCallbackUrls: string[];
  /** The bot's webhook receiver (its own process, see main.ts): `/__test/deliveries` lists what it got. */
  webhookReceiverUrl: string;
  /** The processes that stand for others' machines (emulator, webhook receiver): see nice.ts. */
  othersPids(): number[];
}

/** What a phase returns: its section of results.json and its rows of the table. */
export interface PhaseResult {
  section: Record<string, unknown>;
  rows: TableRow[];
}

/** A phase module (local/bench/phases/<name>.ts) exports these. */
export interface Phase {
  /** Its value for --only. */
  name: string;
  /** Its key in results.json. */
  key: string;
  /** The log line when it starts. */
  title: string;
  run(ctx: BenchContext): Promise<PhaseResult>;
}

const benchStart = performance.now();

/** Seconds since the bench started. */
export function elapsedSeconds(): number {
  return Math.round((performance.now() - benchStart) / 1000);
}

/** A progress line on stderr (stdout carries only the table). */
export function log(line: string): void {
  console.error(`[bench ${String(elapsedSeconds()).padStart(3)}s] ${line}`);
}

/** Creates `n` users in auth.users and returns their ids. */
export async function createUsers(ctx: BenchContext, n: number, prefix: string): Promise<string[]> {
  const tag = crypto.randomUUID().slice(0, 8);
  return await queryRows(
    ctx.stack.info.db_url,
    `insert into auth.users (email) select '${prefix}-' || g || '-${tag}@example.com' ` +
      `from generate_series(1, ${n}) g returning id`,
  );
}

/** Runs one load in a fresh load_client.ts process, so its work is not counted in ours. */
export async function load(spec: LoadSpec): Promise<LoadResult> {
  const file = await Deno.makeTempFile({ dir: OUT_DIR, prefix: "spec-", suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(spec));
  try {
    const out = await new Deno.Command(DENO, {
      args: ["run", "--quiet", "--allow-net", "--allow-read", "local/bench/load_client.ts", file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(`load client failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    const result = JSON.parse(text) as LoadResult;
    if (result.errors > 0) {
      log(`  ${result.errors} failed requests, e.g. ${result.errorSamples.join(" | ")}`);
    }
    return result;
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** Runs a bench worker script to completion and returns its stdout parsed as JSON. */
export async function runWorker<T>(script: string, args: string[]): Promise<T> {
  const out = await new Deno.Command(DENO, {
    args: ["run", "--quiet", "--allow-all", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`${script}: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout)) as T;
}
