/**
 * `npm start`: brings the local stack up, prints its status and a consent link to try, and
 * stops everything on Ctrl-C.
 *
 * Flags: --dir <folder> (default .local), --ports fixed|auto (default fixed, like supabase start).
 */

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

const startedAt = performance.now();
const stack = await startStack({
  dir: flag("dir", Deno.env.get("STACK_DIR") ?? ".local"),
  ports,
  log: (line) => console.error(`  ${line}`),
});

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
