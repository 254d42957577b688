/**
 * `npm run gen:types`: writes supabase/functions/_shared/database.types.ts from the migrations,
 * generated from a fresh private database (or the one --db-url names).
 */

import { DATABASE_TYPES_FILE, generateDatabaseTypes } from "../db_types.ts";
import { databaseUrl, startPostgres } from "../stack/postgres.ts";
import { freePort, type ManagedProcess } from "../stack/process.ts";
import { prepareDatabase } from "../stack/stack.ts";

const i = Deno.args.indexOf("--db-url");
const given = i >= 0 ? Deno.args[i + 1] : undefined;
const dir = ".local/gen-types-db";
let postgres: ManagedProcess | undefined;
try {
  let dbUrl = given;
  if (!dbUrl) {
    // Fresh: the types describe exactly what the migrations make, nothing a session added.
    // Only Postgres is needed, not the rest of the stack.
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(dir, { recursive: true });
    const port = freePort();
    postgres = await startPostgres(`${dir}/postgres`, { port, logFile: `${dir}/postgres.log` });
    dbUrl = databaseUrl(port);
    await prepareDatabase(dbUrl, () => {});
  }
  await Deno.writeTextFile(DATABASE_TYPES_FILE, await generateDatabaseTypes(dbUrl));
  console.log(`wrote ${DATABASE_TYPES_FILE}`);
} finally {
  await postgres?.stop();
}
