/**
 * The committed database types match the migrations: regenerated from the stack's database (the
 * migrations applied by the Supabase CLI) and compared with the file the functions import.
 */

import { DATABASE_TYPES_FILE, generateDatabaseTypes } from "../local/db_types.ts";
import assert from "node:assert/strict";
import { stack } from "./support/stack.ts";

Deno.test("database types: the committed file is what supabase gen types makes of the migrations", async () => {
  const generated = await generateDatabaseTypes(stack.db_url);
  const committed = await Deno.readTextFile(DATABASE_TYPES_FILE);
  assert(generated.includes('"google_calendar_tokens": {'), "the token table is in the types");
  if (generated !== committed) {
    const a = committed.split("\n");
    const b = generated.split("\n");
    const line = a.findIndex((l, i) => l !== b[i]);
    throw new Error(
      `${DATABASE_TYPES_FILE} is out of date (first difference at line ${line + 1}: ` +
        `${JSON.stringify(a[line])} vs generated ${JSON.stringify(b[line])}); ` +
        "run `npm run gen:types` and commit the result",
    );
  }
});
