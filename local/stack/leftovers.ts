/**
 * pids.json: the processes a stack started, recorded as they come and go, so that a stack killed
 * with SIGKILL can have its children stopped before the folder is used again.
 */

import { type ManagedProcess, processStartTime } from "./process.ts";

/** A process the stack started, as recorded in pids.json (start time: against pid reuse). */
interface RecordedProcess {
  name: string;
  pid: number;
  start: string | null;
}

/** Records the live processes in `<dir>/pids.json` (with start times, against pid reuse). */
export async function writePids(dir: string, live: ManagedProcess[]): Promise<void> {
  const records: RecordedProcess[] = live.map((p) => ({
    name: p.name,
    pid: p.pid,
    start: processStartTime(p.pid),
  }));
  await Deno.writeTextFile(`${dir}/pids.json`, JSON.stringify(records));
}

/**
 * A stack killed with SIGKILL leaves its children running; stop them before reusing the folder
 * and ports. Called only with the folder's lock held, so they cannot be a live stack's.
 */
export async function stopLeftovers(dir: string): Promise<number> {
  let recorded: (number | RecordedProcess)[];
  try {
    recorded = JSON.parse(await Deno.readTextFile(`${dir}/pids.json`));
  } catch {
    return 0;
  }
  const left: number[] = [];
  for (const entry of recorded) {
    const pid = typeof entry === "number" ? entry : entry.pid;
    const start = processStartTime(pid);
    if (start === null) continue; // Gone.
    // Only our own children: a pid may have been reused since.
    const same = typeof entry === "number"
      ? /(postgrest|deno)$/.test(commandOf(pid)) // pids.json of an older stack: no start time
      : entry.start === start;
    if (!same) continue;
    // Postgres shuts down fast on SIGINT (its backends with it); the others end on SIGTERM.
    const isPostgres = typeof entry !== "number" && entry.name === "postgres";
    signalPid(pid, isPostgres ? "SIGINT" : "SIGTERM");
    left.push(pid);
  }
  const deadline = Date.now() + 5000;
  while (left.some((pid) => processStartTime(pid) !== null) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const pid of left) if (processStartTime(pid) !== null) signalPid(pid, "SIGKILL");
  await Deno.remove(`${dir}/pids.json`).catch(() => {});
  return left.length;
}

function signalPid(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function commandOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0")[0] ?? "";
  } catch {
    return "";
  }
}
