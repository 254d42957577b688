/**
 * `npm run add-to-project -- <app folder> [--upgrade]`: adds this kit to an existing Supabase
 * project without touching the app's own files (see ./apply.ts and docs/add-to-project.md).
 */

import { type AddResult, addToProject, AddToProjectError, MANIFEST } from "./apply.ts";

const USAGE = `Usage: npm run add-to-project -- <app folder> [--upgrade]

Adds the Google Calendar kit to the Supabase project in <app folder> (the folder holding
supabase/config.toml): its Edge Functions and supabase/functions/_google_calendar/, its migrations
renamed to sort after the app's, its [functions.*] sections appended to config.toml and its
variables to .env.example. Refuses to run twice; --upgrade adds only what a newer kit brings.

  --upgrade     the kit is there already: replace its files, add its newer migrations
  --kit <dir>   the kit to add (default: this repository)
  --help        this text`;

/** The report printed after a run: what was done, and what the operator does next. */
export function describe(result: AddResult, appRoot: string): string {
  const lines: string[] = [];
  const verb = result.upgrade ? "Upgraded" : "Added";
  lines.push(`${verb} the Google Calendar kit in ${appRoot}:`);
  lines.push(
    `  functions: ${result.functions.join(", ")} (+ supabase/functions/_google_calendar/)`,
  );
  lines.push(
    `  files copied: ${result.copied.length}${
      result.removed.length ? `, removed: ${result.removed.length}` : ""
    }`,
  );
  if (result.migrations.length === 0) lines.push("  migrations: none new");
  for (const m of result.migrations) {
    lines.push(`  migration: supabase/migrations/${m.app}  (kit: ${m.kit})`);
  }
  lines.push(
    result.configSections.length
      ? `  supabase/config.toml: appended [functions.*] for ${result.configSections.join(", ")}`
      : "  supabase/config.toml: unchanged (every kit function has its section)",
  );
  lines.push(
    result.envVariables.length
      ? `  ${result.envFile}: appended ${result.envVariables.length} variables (${
        result.envVariables.join(", ")
      })`
      : `  ${result.envFile}: unchanged`,
  );
  lines.push(`  ${MANIFEST}: what came from the kit (keep it; --upgrade reads it)`);
  lines.push("");
  lines.push("Next steps:");
  lines.push(
    `  1. Secrets: fill in supabase/functions/.env from ${result.envFile} (GOOGLE_CLIENT_ID,`,
    "     GOOGLE_CLIENT_SECRET, GOOGLE_REDIRECT_URI, OAUTH_STATE_SECRET, TOKEN_ENCRYPTION_KEY, …),",
    "     then: supabase secrets set --env-file supabase/functions/.env",
    "  2. Database: supabase db push",
    `  3. Deploy: supabase functions deploy ${result.functions.join(" ")}`,
    "  4. Cron: schedule google-maintenance every 5 minutes: from the kit's folder,",
    "     npm run schedule -- --db-url <your database URL> --project-url https://<ref>.supabase.co",
    "     (or the SQL in the kit's docs/database.md)",
  );
  return lines.join("\n");
}

if (import.meta.main) {
  const args = [...Deno.args];
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const upgrade = args.includes("--upgrade");
  const kitAt = args.indexOf("--kit");
  const kitRoot = kitAt >= 0
    ? args[kitAt + 1]
    : new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const positional = args.filter((a, i) => !a.startsWith("--") && (kitAt < 0 || i !== kitAt + 1));
  if (positional.length !== 1 || !kitRoot) {
    console.error(USAGE);
    Deno.exit(2);
  }
  const appRoot = positional[0]!.replace(/\/$/, "");
  try {
    const result = await addToProject({ kitRoot, appRoot, upgrade });
    console.log(describe(result, appRoot));
  } catch (error) {
    if (!(error instanceof AddToProjectError)) throw error;
    console.error(`add-to-project: ${error.message}`);
    Deno.exit(1);
  }
}
