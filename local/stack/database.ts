/** A fresh cluster made into a Supabase project's database: bootstrap.sql, then the migrations. */

import { psql } from "./postgres.ts";
import { run } from "./process.ts";
import { SUPABASE_CLI, supabaseCliEnv } from "./tools.ts";

/** What every Supabase project has (bootstrap.sql), then the migrations. */
export async function prepareDatabase(dbUrl: string, log: (line: string) => void): Promise<void> {
  log("preparing the database like a Supabase project");
  await psql(dbUrl, ["-f", "local/stack/bootstrap.sql"]);
  log("applying migrations with the Supabase CLI");
  await applyMigrations(dbUrl);
}

/** `supabase migration up`: the real CLI, history in supabase_migrations.schema_migrations. */
export async function applyMigrations(dbUrl: string): Promise<void> {
  await run(SUPABASE_CLI, ["migration", "up", "--db-url", dbUrl, "--yes"], {
    env: supabaseCliEnv(),
  });
}
