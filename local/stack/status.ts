/** The status table of a running stack, as `npm start` and `npm run status` print it. */

import type { StackInfo } from "./stack.ts";

/** The rows of the table: what `supabase status` shows, plus where this stack keeps things. */
export function statusRows(info: StackInfo, envNote = ""): [string, string][] {
  return [
    ["API URL", info.api_url],
    ["REST URL", info.rest_url],
    ["Functions URL", info.functions_url],
    ["JWKS URL", info.jwks_url],
    ["DB URL", info.db_url],
    ["Google emulator", info.google_emulator_url],
    ["Google", googleTarget(info, envNote)],
    ["Webhooks", webhookTarget(info)],
    ["Redirect URI", info.google_redirect_uri],
    ["anon key", info.anon_key],
    ["service_role key", info.service_role_key],
    ["bot key", info.function_env.BOT_API_KEYS?.split(",")[0] ?? "(none: BOT_API_KEYS unset)"],
    ["JWT secret", info.jwt_secret],
    ["Functions", Object.keys(info.functions).join(", ") || "(none)"],
    ["Database files", info.db_data_dir ?? `${info.stack_dir}/postgres`],
    ["Logs", info.log_dir],
    ["Stack file", `${info.stack_dir}/stack.json`],
    ["Process", info.pid ? `pid ${info.pid} (npm stop stops it)` : "(unknown)"],
  ];
}

/** The rows `npm run status -- -o env` prints, as shell variables (like `supabase status -o env`). */
const ENV_ROWS: Record<string, string> = {
  "API URL": "API_URL",
  "REST URL": "REST_URL",
  "Functions URL": "FUNCTIONS_URL",
  "DB URL": "DB_URL",
  "Google emulator": "GOOGLE_EMULATOR_URL",
  "anon key": "ANON_KEY",
  "service_role key": "SERVICE_ROLE_KEY",
  "bot key": "BOT_KEY",
};

/**
 * The stack's URLs and keys as `NAME="value"` lines, for `eval "$(npm run -s status -- -o env)"`;
 * the bot key only when the stack has one.
 */
export function formatStatusEnv(info: StackInfo): string {
  return statusRows(info)
    .filter(([k, v]) => ENV_ROWS[k] && !(k === "bot key" && v.startsWith("(")))
    .map(([k, v]) => `${ENV_ROWS[k]}="${v.replace(/["\\$`]/g, "\\$&")}"`)
    .join("\n");
}

/** The table as text, names right-aligned. */
export function formatStatus(info: StackInfo, envNote = ""): string {
  const rows = statusRows(info, envNote);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padStart(width)}: ${v}`).join("\n");
}

function googleTarget(info: StackInfo, envNote: string): string {
  const env = info.function_env;
  if (env.GOOGLE_OAUTH_BASE_URL === info.google_emulator_url) return `the local emulator${envNote}`;
  // Only a client named in the .env file leads here (see mergeFunctionEnv).
  const where = env.GOOGLE_OAUTH_BASE_URL ?? "Google";
  return `${where} with client ${env.GOOGLE_CLIENT_ID}${envNote}; register the Redirect URI there`;
}

function webhookTarget(info: StackInfo): string {
  const url = info.function_env.BOT_WEBHOOK_URL;
  if (!url) return "off (no BOT_WEBHOOK_URL)";
  if (url === info.webhook_receiver_url) {
    return `${url}: the stack's receiver prints each event here`;
  }
  return `${url} (from the .env file)`;
}
