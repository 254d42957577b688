/** The pinned command-line tools, from node_modules (versions in package.json). */

export const DENO = "node_modules/.bin/deno";
export const SUPABASE_CLI = "node_modules/.bin/supabase";

/** The environment for the Supabase CLI: ours, with its telemetry off. */
export function supabaseCliEnv(): Record<string, string> {
  return { ...Deno.env.toObject(), SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" };
}
