/**
 * What `supabase functions deploy` relies on: every function is a thin index.ts with its own
 * deno.json pinning the same imports as the root, and config.toml lets each check its callers.
 */

import { listFunctions } from "../local/stack/functions.ts";
import assert from "node:assert/strict";

const root = JSON.parse(await Deno.readTextFile("deno.json"));
/** Imports only the tests use; a deployed function must not carry them. */
const DEV_ONLY = ["playwright-core", "@googleapis/calendar"];
const productionImports = Object.fromEntries(
  Object.entries(root.imports as Record<string, string>).filter(([name]) =>
    !DEV_ONLY.includes(name)
  ),
);
const configToml = await Deno.readTextFile("supabase/config.toml");

for (const name of listFunctions()) {
  Deno.test(`deploy layout: ${name} pins the root's imports and sets verify_jwt = false`, async () => {
    const own = JSON.parse(await Deno.readTextFile(`supabase/functions/${name}/deno.json`));
    assert.deepEqual(own.imports, productionImports);
    const section = configToml.split(`[functions.${name}]`)[1]?.split("\n[")[0] ?? "";
    assert(/verify_jwt = false/.test(section), `[functions.${name}] verify_jwt = false`);
    const entry = await Deno.readTextFile(`supabase/functions/${name}/index.ts`);
    assert(entry.split("\n").length < 20, "index.ts stays a thin entrypoint");
  });
}
