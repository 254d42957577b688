/**
 * Lowers (and restores) the CPU priority of processes the bench runs beside the code it measures:
 * the Google emulator and the webhook receiver stand for Google's machines and the bot's, which
 * in production do not compete with our functions for the same cores.
 */

import { portOwner } from "../stack/ports.ts";

/** Niceness while lowered: a busy emulator still runs, but after our processes. */
export const LOWERED = 10;

/** The pid listening on `url`'s port, or null when /proc does not say. */
export function pidOn(url: string): number | null {
  return portOwner(Number(new URL(url).port))?.pid ?? null;
}

/**
 * Sets every thread of `pids` to `niceness` (Linux applies a process's niceness per thread, and
 * Deno runs several). Returns false where it could not (raising priority back needs root).
 */
export async function setNiceness(pids: number[], niceness: number): Promise<boolean> {
  const tids: string[] = [];
  for (const pid of pids) {
    try {
      for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) tids.push(entry.name);
    } catch {
      tids.push(String(pid));
    }
  }
  if (tids.length === 0) return false;
  const out = await new Deno.Command("renice", {
    args: ["-n", String(niceness), "-p", ...tids],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}
