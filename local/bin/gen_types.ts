/**
 * `npm run gen:types`: writes supabase/functions/_google_calendar/database.types.ts from the migrations,
 * generated from a fresh private database (or the one --db-url names).
 */

import { DATABASE_TYPES_FILE, generateDatabaseTypes } from "../db_types.ts";
import { clusterDataDir, databaseUrl, startPostgres } from "../stack/postgres.ts";
import { onPort } from "../stack/ports.ts";
import type { ManagedProcess } from "../stack/process.ts";
import { prepareDatabase, removeStackDir } from "../stack/stack.ts";

const i = Deno.args.indexOf("--db-url");
const given = i >= 0 ? Deno.args[i + 1] : undefined;
const dir = ".local/gen-types-db";
let postgres: ManagedProcess | undefined;
try {
  let dbUrl = given;
  if (!dbUrl) {
    // Fresh: the types describe exactly what the migrations make, nothing a session added.
    // Only Postgres is needed, not the rest of the stack.
    await removeStackDir(dir);
    await Deno.mkdir(dir, { recursive: true });
    const dataDir = await clusterDataDir(dir);
    const logFile = `${await Deno.realPath(dir)}/postgres.log`;
    const started = await onPort("database", null, async (port) => {
      postgres = await startPostgres(dataDir, { port, logFile });
      return port;
    });
    dbUrl = databaseUrl(started);
    await prepareDatabase(dbUrl, () => {});
  }
  await Deno.writeTextFile(DATABASE_TYPES_FILE, await generateDatabaseTypes(dbUrl));
  console.log(`wrote ${DATABASE_TYPES_FILE}`);
} finally {
  await postgres?.stop();
}
