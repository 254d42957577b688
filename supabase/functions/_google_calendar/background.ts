/**
 * Work that must not hold up the answer. Supabase's edge runtime keeps the isolate alive for it
 * with `EdgeRuntime.waitUntil`; plain Deno (the local stack, tests) has no such thing, and there a
 * floating promise simply runs on. Errors are the task's own to log: here they are swallowed.
 */

interface EdgeRuntimeGlobal {
  waitUntil?(promise: Promise<unknown>): void;
}

/** Runs `task` after (or beside) the response, never failing the caller. */
export function runInBackground(task: Promise<unknown>): void {
  const quiet = task.catch(() => {});
  const runtime = (globalThis as { EdgeRuntime?: EdgeRuntimeGlobal }).EdgeRuntime;
  if (typeof runtime?.waitUntil === "function") runtime.waitUntil(quiet);
}
