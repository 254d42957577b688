/**
 * The local stack's commands, like the Supabase CLI's:
 *
 *   main.ts [start]   `npm start`: brings the stack up, prints its status and a consent link to
 *                     try, and stops everything on Ctrl-C, SIGTERM or SIGHUP (closed terminal).
 *   main.ts status    `npm run status`: the running stack's table; exit 1 when none runs.
 *   main.ts stop      `npm stop`: stops the stack running in the folder (from another terminal).
 *
 * Flags: --dir <folder> (default .local; one stack per folder), --ports fixed|auto (default
 * fixed, like supabase start), --env-file <path>: the functions' variables (npm start passes
 * supabase/functions/.env; a missing file is fine, every variable it does not set gets a
 * generated local value), --maintenance-every <seconds> (default 300, MAINTENANCE_INTERVAL_SECONDS;
 * 0 = off): how often the stack's timer runs google-maintenance, as Supabase Cron would.
 */

import { EnvFileError, readEnvFile } from "./env_file.ts";
import { runningStack } from "./lock.ts";
import { StoppingError } from "./process.ts";
import {
  AlreadyRunningError,
  DEMO_EMAIL,
  PortInUseError,
  type Stack,
  type StackInfo,
  startStack,
  stopLeftovers,
} from "./stack.ts";
import { formatStatus } from "./status.ts";
import {
  DEFAULT_MAINTENANCE_INTERVAL_SECONDS,
  type MaintenanceTimer,
  startMaintenanceTimer,
} from "./maintenance_timer.ts";
import { acquireStackLock } from "./lock.ts";
import { createUser, userIdByEmail } from "./users.ts";

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] ? Deno.args[i + 1]! : fallback;
}

/** Writes to the terminal, which may be gone (SIGHUP): stopping must go on regardless. */
function say(line: string, stream: "out" | "err" = "err"): void {
  try {
    (stream === "out" ? console.log : console.error)(line);
  } catch {
    // No terminal any more.
  }
}

const command = Deno.args[0] && !Deno.args[0].startsWith("--") ? Deno.args[0] : "start";
const dir = flag("dir", Deno.env.get("STACK_DIR") ?? ".local");

if (command === "status") Deno.exit(await status());
if (command === "stop") Deno.exit(await stop());
if (command !== "start") {
  console.error(`unknown command ${command}: start, status or stop`);
  Deno.exit(2);
}

const ports = flag("ports", Deno.env.get("STACK_PORTS") ?? "fixed");
if (ports !== "fixed" && ports !== "auto") {
  console.error("--ports takes fixed or auto");
  Deno.exit(2);
}

const envFilePath = flag("env-file", "");
let envFile: { path: string; env: Record<string, string> } | undefined;
try {
  const env = envFilePath ? await readEnvFile(envFilePath) : null;
  if (env) envFile = { path: envFilePath, env };
} catch (error) {
  if (!(error instanceof EnvFileError)) throw error;
  console.error(error.message);
  Deno.exit(1);
}

// Listen before starting anything: a signal halfway through starting stops what has started.
const abort = new AbortController();
let stack: Stack | null = null;
let starting: Promise<unknown> = Promise.resolve();
let stopping = false;
let maintenanceTimer: MaintenanceTimer | null = null;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  say("\nstopping the local stack…");
  abort.abort();
  await starting.catch(() => {});
  await maintenanceTimer?.stop();
  await stack?.stop();
  say("stopped.");
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.addSignalListener(signal, shutdown);
}

const startedAt = performance.now();
try {
  const started = startStack({
    dir,
    ports,
    ...(envFile ? { envFile } : {}),
    signal: abort.signal,
    log: (line) => say(`  ${line}`),
  });
  starting = started;
  stack = await started;
} catch (error) {
  if (error instanceof StoppingError) await new Promise(() => {}); // shutdown() exits.
  // The developer's to fix (a .env mistake, a busy folder or port): the message, no trace.
  if (error instanceof AlreadyRunningError) {
    console.error(`\nThe local stack did not start: ${error.message}.`);
    console.error(`See it with \`npm run status\`; stop it with \`npm stop\`.`);
    Deno.exit(1);
  }
  if (error instanceof PortInUseError) {
    console.error(`\nThe local stack did not start: ${error.message}.`);
    console.error("Stop that process, or start on free ports: npm start -- --ports auto");
    Deno.exit(1);
  }
  if (!(error instanceof EnvFileError)) throw error;
  console.error(`\nThe local stack did not start: ${error.message}`);
  Deno.exit(1);
}

const envNote = envFile ? `; the variables ${envFile.path} sets are used` : "; no .env file";
say(
  `\nLocal stack is running (started in ${
    ((performance.now() - startedAt) / 1000).toFixed(1)
  } s).\n`,
  "out",
);
say(formatStatus(stack.info, envNote), "out");
// Production schedules google-maintenance with Supabase Cron + pg_net (docs/maintenance.md);
// here the stack plays that part with its own timer. --maintenance-every 0 turns it off.
const maintenanceEvery = Number(
  flag(
    "maintenance-every",
    Deno.env.get("MAINTENANCE_INTERVAL_SECONDS") ?? String(DEFAULT_MAINTENANCE_INTERVAL_SECONDS),
  ),
);
if (stack.info.functions["google-maintenance"] && maintenanceEvery > 0) {
  maintenanceTimer = startMaintenanceTimer(
    { functionsUrl: stack.info.functions_url, serviceKey: stack.info.service_role_key },
    { intervalSeconds: maintenanceEvery, log: (line) => say(`  ${line}`) },
  );
  say(
    `\nMaintenance: google-maintenance runs every ${maintenanceEvery} s (this stack's timer plays ` +
      "Supabase Cron + pg_net; --maintenance-every 0 turns it off).",
    "out",
  );
} else {
  say("\nMaintenance: the scheduled google-maintenance pass is off.", "out");
}
await printConsentLink(stack.info).catch((error) => {
  say(`\n(no consent link: ${error instanceof Error ? error.message : error})`, "out");
});
say("\nPress Ctrl-C to stop.", "out");

/** `npm run status`: 0 and the table when a stack runs in the folder, else 1. */
async function status(): Promise<number> {
  const running = await runningStack(dir);
  if (!running) {
    console.error(`No local stack is running in ${dir}. Start one with \`npm start\`.`);
    return 1;
  }
  let info: StackInfo;
  try {
    info = JSON.parse(await Deno.readTextFile(`${dir}/stack.json`));
  } catch {
    console.log(`A local stack is starting in ${dir} (pid ${running.pid}).`);
    return 0;
  }
  console.log(`Local stack is running in ${info.stack_dir}.\n`);
  console.log(formatStatus(info));
  return 0;
}

/** `npm stop`: stops the folder's stack and waits until it has; cleans up after a killed one. */
async function stop(): Promise<number> {
  const running = await runningStack(dir);
  if (!running) {
    // Nothing runs; a stack killed outright may have left processes, which are ours to end.
    let left = 0;
    try {
      const lock = await acquireStackLock(dir);
      try {
        left = await stopLeftovers(dir);
      } finally {
        lock.release();
      }
    } catch (error) {
      if (!(error instanceof AlreadyRunningError) && !(error instanceof Deno.errors.NotFound)) {
        throw error;
      }
    }
    console.log(`No local stack is running in ${dir}.`);
    if (left) console.log(`Stopped ${left} processes left by a stack that was killed.`);
    return 0;
  }
  if (!running.pid) {
    console.error(`A local stack holds ${dir} but its pid is not recorded yet; try again.`);
    return 1;
  }
  Deno.kill(running.pid, "SIGTERM");
  const deadline = Date.now() + 30_000;
  while (await runningStack(dir)) {
    if (Date.now() > deadline) {
      console.error(`The local stack (pid ${running.pid}) did not stop within 30 s.`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`Stopped the local stack in ${dir} (pid ${running.pid}).`);
  return 0;
}

/** Does what the bot does: asks google-connect for a demo user's consent link. */
async function printConsentLink(info: StackInfo): Promise<void> {
  if (!info.functions["google-connect"]) return;
  const email = DEMO_EMAIL;
  const userId = await userIdByEmail(info.db_url, email) ?? await createUser(info.db_url, email);
  const res = await fetch(`${info.functions_url}/google-connect`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${info.service_role_key}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ user_id: userId }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`google-connect answered ${res.status} ${body.code}`);
  say(
    `\nTry it: open this consent link for ${email} (user ${userId}):\n\n  ${body.auth_url}`,
    "out",
  );
}
