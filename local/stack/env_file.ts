/**
 * `supabase/functions/.env` for the local stack: the file `supabase functions serve` reads and
 * `supabase secrets set --env-file` uploads. Optional: every variable it leaves out gets a
 * generated local value, so `npm start` needs no `.env` at all.
 */

export const DEFAULT_ENV_FILE = "supabase/functions/.env";

/** Set by the local stack from its own addresses, whatever the file says. */
const STACK_OWNED = ["GOOGLE_REDIRECT_URI"];
/** Taken from the file together or not at all: a real Google client, or the emulator's. */
const GOOGLE_CLIENT = [
  "GOOGLE_CLIENT_ID",
  "GOOGLE_CLIENT_SECRET",
  "GOOGLE_OAUTH_BASE_URL",
  "GOOGLE_API_BASE_URL",
];

export class EnvFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnvFileError";
  }
}

/**
 * Parses dotenv text: `NAME=value` lines, `#` comments, an optional `export `, values optionally
 * in single or double quotes. An empty value counts as not set.
 */
export function parseEnvFile(text: string, path: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = line.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/);
    if (!match) throw new EnvFileError(`${path}:${i + 1}: expected NAME=value`);
    const [, name, rest] = match as unknown as [string, string, string];
    const value = unquote(rest, `${path}:${i + 1}`);
    if (value !== "") env[name] = value;
  });
  return env;
}

function unquote(value: string, where: string): string {
  const quote = value[0];
  if (quote === '"' || quote === "'") {
    const end = value.indexOf(quote, 1);
    if (end < 0) throw new EnvFileError(`${where}: the value's closing ${quote} is missing`);
    const inner = value.slice(1, end);
    return quote === '"' ? inner.replaceAll("\\n", "\n") : inner;
  }
  // Unquoted: a ` #` starts a comment.
  return value.replace(/\s+#.*$/, "").trim();
}

/** The file's variables, or null when there is no file. */
export async function readEnvFile(path: string): Promise<Record<string, string> | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  return parseEnvFile(text, path);
}

/**
 * The functions' environment: the stack's generated values, overridden by the file's. Names
 * starting with SUPABASE_ are skipped, as Supabase does (it sets them itself); the redirect URI
 * is always the local callback. The Google client comes from the file only when the file names
 * one (then Google's real endpoints are used unless the file says otherwise).
 */
export function mergeFunctionEnv(
  generated: Record<string, string>,
  file: Record<string, string>,
): { env: Record<string, string>; notes: string[] } {
  const env = { ...generated };
  const notes: string[] = [];
  const realClient = "GOOGLE_CLIENT_ID" in file;
  if (realClient) {
    if (!file.GOOGLE_CLIENT_SECRET) {
      throw new EnvFileError("the .env file sets GOOGLE_CLIENT_ID but not GOOGLE_CLIENT_SECRET");
    }
    for (const name of GOOGLE_CLIENT) delete env[name];
  }
  for (const [name, value] of Object.entries(file)) {
    if (name.startsWith("SUPABASE_")) {
      notes.push(`${name} skipped: Supabase sets SUPABASE_* variables itself`);
    } else if (STACK_OWNED.includes(name)) {
      if (value !== generated[name]) {
        notes.push(`${name} skipped: the local stack's callback is ${generated[name]}`);
      }
    } else if (GOOGLE_CLIENT.includes(name) && !realClient) {
      notes.push(`${name} skipped: set GOOGLE_CLIENT_ID too to use your own Google client`);
    } else {
      env[name] = value;
    }
  }
  return { env, notes };
}
