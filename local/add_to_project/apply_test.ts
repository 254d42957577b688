import assert from "node:assert/strict";
import { addToProject, AddToProjectError, MANIFEST } from "./apply.ts";

const KIT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** A scratch app with a config.toml, a file of its own and `manifest`; a file beside the app. */
async function appWithManifest(manifest: unknown) {
  const root = await Deno.makeTempDir({ prefix: "add_to_project_" });
  const app = `${root}/app`;
  await Deno.mkdir(`${app}/supabase/functions/_shared`, { recursive: true });
  await Deno.writeTextFile(`${app}/supabase/config.toml`, 'project_id = "app"\n');
  await Deno.writeTextFile(`${app}/supabase/functions/_shared/cors.ts`, "export const x = 1;\n");
  await Deno.writeTextFile(`${root}/outside.txt`, "not the app's\n");
  await Deno.writeTextFile(`${app}/${MANIFEST}`, JSON.stringify(manifest));
  return { root, app };
}

Deno.test("add-to-project --upgrade: a manifest naming paths outside the kit's folders is refused, nothing touched", async () => {
  for (
    const bad of [
      "../outside.txt",
      "supabase/functions/_shared/cors.ts",
      "supabase/functions/_google_calendar/../_shared/cors.ts",
      "supabase/config.toml",
      "/etc/hostname",
    ]
  ) {
    const { root, app } = await appWithManifest({
      kit: "x",
      version: "0",
      updated_at: "",
      functions: [],
      files: [bad],
      migrations: {},
    });
    try {
      await assert.rejects(
        addToProject({ kitRoot: KIT, appRoot: app, upgrade: true }),
        (e: unknown) =>
          e instanceof AddToProjectError && /outside the kit's folders/.test(e.message),
        bad,
      );
      assert.equal(await Deno.readTextFile(`${root}/outside.txt`), "not the app's\n", bad);
      assert.equal(
        await Deno.readTextFile(`${app}/supabase/functions/_shared/cors.ts`),
        "export const x = 1;\n",
        bad,
      );
      assert.equal(await Deno.readTextFile(`${app}/supabase/config.toml`), 'project_id = "app"\n');
      await assert.rejects(Deno.stat(`${app}/supabase/functions/_google_calendar`), bad);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  }
});
