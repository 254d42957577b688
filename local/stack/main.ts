/**
 * `npm start`: brings the local stack up, prints its status and a consent link to try, and
 * stops everything on Ctrl-C.
 *
 * Flags: --dir <folder> (default .local), --ports fixed|auto (default fixed, like supabase start),
 * --env-file <path>: the functions' variables (npm start passes supabase/functions/.env; a
 * missing file is fine, every variable it does not set gets a generated local value).
 */

import { EnvFileError, readEnvFile } from "./env_file.ts";
import { type StackInfo, startStack } from "./stack.ts";
import { createUser, userIdByEmail } from "./users.ts";

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] ? Deno.args[i + 1]! : fallback;
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

const startedAt = performance.now();
let stack: Awaited<ReturnType<typeof startStack>>;
try {
  stack = await startStack({
    dir: flag("dir", Deno.env.get("STACK_DIR") ?? ".local"),
    ports,
    ...(envFile ? { envFile } : {}),
    log: (line) => console.error(`  ${line}`),
  });
} catch (error) {
  // A mistake in the .env file is the developer's to fix: the message, not a stack trace.
  if (!(error instanceof EnvFileError)) throw error;
  console.error(`\nThe local stack did not start: ${error.message}`);
  Deno.exit(1);
}

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error("\nstopping the local stack…");
  await stack.stop();
  console.error("stopped.");
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);

printStatus(stack.info, performance.now() - startedAt);
await printConsentLink(stack.info).catch((error) => {
  console.log(`\n(no consent link: ${error instanceof Error ? error.message : error})`);
});
console.log("\nPress Ctrl-C to stop.");

function printStatus(info: StackInfo, ms: number): void {
  const rows: [string, string][] = [
    ["API URL", info.api_url],
    ["REST URL", info.rest_url],
    ["Functions URL", info.functions_url],
    ["JWKS URL", info.jwks_url],
    ["DB URL", info.db_url],
    ["Google emulator", info.google_emulator_url],
    ["Google", googleTarget(info)],
    ["Redirect URI", info.google_redirect_uri],
    ["anon key", info.anon_key],
    ["service_role key", info.service_role_key],
    ["JWT secret", info.jwt_secret],
    ["Functions", Object.keys(info.functions).join(", ") || "(none)"],
    ["Logs", info.log_dir],
    ["Stack file", `${info.stack_dir}/stack.json`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nLocal stack is running (started in ${(ms / 1000).toFixed(1)} s).\n`);
  for (const [k, v] of rows) console.log(`  ${k.padStart(width)}: ${v}`);
}

function googleTarget(info: StackInfo): string {
  const env = info.function_env;
  const from = envFile ? `; the variables ${envFile.path} sets are used` : "; no .env file";
  if (env.GOOGLE_OAUTH_BASE_URL === info.google_emulator_url) return `the local emulator${from}`;
  // Only a client named in the .env file leads here (see mergeFunctionEnv).
  const where = env.GOOGLE_OAUTH_BASE_URL ?? "Google";
  return `${where} with client ${env.GOOGLE_CLIENT_ID}${from}; register the Redirect URI there`;
}

/** Does what the bot does: asks google-connect for a demo user's consent link. */
async function printConsentLink(info: StackInfo): Promise<void> {
  if (!info.functions["google-connect"]) return;
  const email = "demo@example.com";
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
  console.log(
    `\nTry it: open this consent link for ${email} (user ${userId}):\n\n  ${body.auth_url}`,
  );
}
