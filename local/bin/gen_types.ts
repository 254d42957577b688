/**
 * `npm run gen:types`: writes supabase/functions/_shared/database.types.ts from the migrations,
 * generated from a fresh private database (or the one --db-url names).
 */

import { DATABASE_TYPES_FILE, generateDatabaseTypes } from "../db_types.ts";
import { startStack } from "../stack/stack.ts";

const i = Deno.args.indexOf("--db-url");
let dbUrl = i >= 0 ? Deno.args[i + 1] : undefined;
const dir = ".local/gen-types-stack";
let stop = () => Promise.resolve();
if (!dbUrl) {
  // Fresh: the types describe exactly what the migrations make, nothing a session added.
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const stack = await startStack({ dir, ports: "auto" });
  dbUrl = stack.info.db_url;
  stop = () => stack.stop();
}
try {
  await Deno.writeTextFile(DATABASE_TYPES_FILE, await generateDatabaseTypes(dbUrl));
  console.log(`wrote ${DATABASE_TYPES_FILE}`);
} finally {
  await stop();
}
