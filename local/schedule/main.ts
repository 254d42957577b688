/**
 * `npm run schedule -- …`: schedules google-maintenance with Supabase Cron, Vault and pg_net
 * (./sql.ts), printing the SQL as it runs it with psql. Against a Supabase project every step
 * runs; against the local stack (`--local`) the steps run up to the pg_cron and pg_net ones it
 * cannot make (Debian has no pg_net), whose part the stack's own timer plays
 * (local/stack/maintenance_timer.ts).
 */

import type { StackInfo } from "../stack/stack.ts";
import { printable, psqlSets, scheduleSteps } from "./sql.ts";

const USAGE = `Usage:
  npm run schedule -- --db-url <database URL> --project-url https://<ref>.supabase.co
  npm run schedule -- --local [--stack-file .local/stack.json]
  npm run schedule -- --print [--project-url <url>]

Schedules google-maintenance with Supabase Cron (pg_cron), the project URL and key kept in Vault,
the call made by pg_net. Prints the SQL it runs; can be run again (it replaces the job).

  --db-url <url>        the project's database (Dashboard > Connect; the session pooler works)
  --project-url <url>   https://<project-ref>.supabase.co
  --key-env <NAME>      the variable holding the service role key or an sb_secret_ key
                        (default GOOGLE_MAINTENANCE_KEY; never given on the command line)
  --every <cron>        the schedule (default "*/5 * * * *")
  --local               the running local stack: runs the SQL up to pg_cron and pg_net
  --stack-file <path>   the local stack's stack.json (default $STACK_FILE or .local/stack.json)
  --print               print the SQL only
  --help                this text`;

/** A flag's value, or undefined. */
function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Runs `sql` with psql against `dbUrl`, the variables set first; returns its output. */
async function runPsql(dbUrl: string, vars: Record<string, string>, sql: string): Promise<string> {
  const child = new Deno.Command("psql", {
    // VERBOSITY=terse: an error names no statement, whose text holds the key psql substituted.
    args: [dbUrl, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=terse", "-P", "pager=off"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(psqlSets(vars) + sql + "\n"));
  await writer.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim());
  return text;
}

/** Fails with `message` and the usage's first line. */
function fail(message: string): never {
  console.error(`schedule: ${message}\n(npm run schedule -- --help)`);
  Deno.exit(2);
}

if (import.meta.main) {
  const args = Deno.args;
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const local = args.includes("--local");
  let steps;
  try {
    steps = scheduleSteps(flag(args, "--every") ?? "*/5 * * * *");
  } catch (error) {
    fail((error as Error).message);
  }
  let dbUrl = flag(args, "--db-url");
  let projectUrl = flag(args, "--project-url");
  let key: string | undefined;
  let keySource: string;
  if (local) {
    const file = flag(args, "--stack-file") ?? Deno.env.get("STACK_FILE") ?? ".local/stack.json";
    let info: StackInfo;
    try {
      info = JSON.parse(await Deno.readTextFile(file));
    } catch {
      fail(`no local stack described by ${file}: start one with npm start`);
    }
    dbUrl = info.db_url;
    projectUrl = info.api_url;
    key = info.service_role_key;
    keySource = `the local stack's service role key (${file})`;
  } else {
    const keyEnv = flag(args, "--key-env") ?? "GOOGLE_MAINTENANCE_KEY";
    key = Deno.env.get(keyEnv);
    keySource = `$${keyEnv}`;
  }
  if (args.includes("--print")) {
    console.log(printable(steps, projectUrl ?? "<https://<project-ref>.supabase.co>", keySource));
    Deno.exit(0);
  }
  if (!dbUrl) fail("give --db-url <database URL> (or --local, or --print)");
  if (!projectUrl || !/^https?:\/\/[^/\s]+$/.test(projectUrl.replace(/\/$/, ""))) {
    fail("give --project-url https://<project-ref>.supabase.co");
  }
  if (!key) fail(`${keySource} is empty: set it to the service role key or an sb_secret_ key`);
  // A key is one token of printable ASCII (a JWT or sb_secret_…). Anything else would break out
  // of psql's \set line, and the server's syntax error would then quote the key.
  if (!/^[\x21-\x7e]+$/.test(key)) {
    fail(`${keySource} is not a key: it holds spaces, line breaks or control characters`);
  }
  const vars = { project_url: projectUrl.replace(/\/$/, ""), key };
  console.log(
    `-- psql variables: project_url = ${vars.project_url}, key = ${keySource} (not printed)`,
  );
  for (const step of steps) {
    if (local && step.cronAndNet) {
      console.log(
        `\n-- Stopped before: ${step.title}.\n` +
          "-- The local database has no pg_net (not in Debian) and no pg_cron: the local stack's\n" +
          "-- timer (local/stack/maintenance_timer.ts) POSTs google-maintenance on the same\n" +
          "-- schedule with the same key instead. Against a Supabase project every step runs.",
      );
      break;
    }
    console.log(`\n-- ${step.title}.\n${step.sql}`);
    try {
      const out = await runPsql(dbUrl, vars, step.sql);
      if (out.trim()) console.log(out.trimEnd().split("\n").map((l) => `--   ${l}`).join("\n"));
    } catch (error) {
      console.error(`schedule: this step failed: ${(error as Error).message}`);
      Deno.exit(1);
    }
  }
  if (!local) {
    console.log(
      "\nScheduled. Check it: select * from cron.job_run_details order by start_time desc limit 5;",
    );
  }
}
