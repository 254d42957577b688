/**
 * One stack per folder: a running stack holds an exclusive lock on `<dir>/stack.lock`, whose
 * text says who it is (pid, API URL). The kernel drops the lock when the process ends, even by
 * SIGKILL, so a lock that can be taken means no stack is running there.
 */

const LOCK_FILE = "stack.lock";

/** What a running stack writes into its lock file. */
export interface RunningStack {
  pid: number;
  dir: string;
  started_at: string;
  /** Known once the gateway is bound. */
  api_url?: string;
}

/** Another stack runs in the folder. */
export class AlreadyRunningError extends Error {
  readonly code = "already_running";
  constructor(readonly running: RunningStack | null, dir: string) {
    const who = running
      ? `pid ${running.pid}${running.api_url ? `, API URL ${running.api_url}` : ", still starting"}`
      : "its pid is not recorded yet";
    super(`a local stack is already running in ${dir} (${who})`);
    this.name = "AlreadyRunningError";
  }
}

/** The lock a running stack holds on its folder. */
export interface StackLock {
  /** Rewrites the lock's text, e.g. once the API URL is known. */
  update(extra: Partial<RunningStack>): Promise<void>;
  release(): void;
}

/** Takes the folder's lock, or throws AlreadyRunningError naming the stack that holds it. */
export async function acquireStackLock(dir: string): Promise<StackLock> {
  const path = `${dir}/${LOCK_FILE}`;
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  if (!await file.tryLock(true)) {
    file.close();
    throw new AlreadyRunningError(await readLockText(path), dir);
  }
  let info: RunningStack = { pid: Deno.pid, dir, started_at: new Date().toISOString() };
  const write = async () => {
    const bytes = new TextEncoder().encode(JSON.stringify(info) + "\n");
    await file.truncate(0);
    await file.seek(0, Deno.SeekMode.Start);
    await file.write(bytes);
  };
  await write();
  let released = false;
  return {
    async update(extra) {
      info = { ...info, ...extra };
      if (!released) await write();
    },
    release() {
      if (released) return;
      released = true;
      try {
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
}

/** The stack running in `dir`, or null when none is (the lock is free or absent). */
export async function runningStack(dir: string): Promise<RunningStack | null> {
  const path = `${dir}/${LOCK_FILE}`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return null;
  }
  try {
    // A shared lock is granted unless a running stack holds the exclusive one.
    if (await file.tryLock(false)) return null;
  } finally {
    file.close();
  }
  return await readLockText(path) ??
    { pid: 0, dir, started_at: "" };
}

async function readLockText(path: string): Promise<RunningStack | null> {
  try {
    const info = JSON.parse(await Deno.readTextFile(path));
    return typeof info?.pid === "number" ? info : null;
  } catch {
    return null;
  }
}
