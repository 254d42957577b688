/**
 * Adds the kit to an app's Supabase project (or, with `upgrade`, what a newer kit adds), after
 * checking everything first: nothing is written when any step would touch a file of the app's.
 * The app gets the kit's functions and supabase/functions/_google_calendar/, the kit's
 * migrations renamed to sort after its own, the kit's config.toml sections and .env.example
 * variables appended, and supabase/google_calendar_kit.json recording what came from the kit.
 */

import { listFunctions } from "../stack/functions.ts";
import {
  configAppendix,
  envAppendix,
  envNames,
  kitOrigin,
  planMigrations,
  type PlannedMigration,
} from "./plan.ts";

/** The manifest's path in the app: the marker that the kit is there, and what it wrote. */
export const MANIFEST = "supabase/google_calendar_kit.json";

/** The kit's shared folder, copied beside the app's own `_shared/`. */
export const SHARED_DIR = "supabase/functions/_google_calendar";

/** What the manifest records. */
export interface Manifest {
  kit: string;
  version: string;
  updated_at: string;
  functions: string[];
  /** Every file copied from the kit, relative to the app's folder. */
  files: string[];
  /** The kit's migration file name → the name it has in the app. */
  migrations: Record<string, string>;
}

/** A refusal: the message says what to do; nothing was written. */
export class AddToProjectError extends Error {
  override name = "AddToProjectError";
}

/** What was done. */
export interface AddResult {
  upgrade: boolean;
  functions: string[];
  copied: string[];
  removed: string[];
  migrations: PlannedMigration[];
  configSections: string[];
  envFile: string;
  envVariables: string[];
}

/** Adds the kit at `kitRoot` to the app at `appRoot`; see the module comment. */
export async function addToProject(
  options: { kitRoot: string; appRoot: string; upgrade: boolean; now?: Date },
): Promise<AddResult> {
  const { kitRoot, appRoot, upgrade } = options;
  const app = (path: string) => `${appRoot}/${path}`;
  const kit = (path: string) => `${kitRoot}/${path}`;
  const appToml = await readText(app("supabase/config.toml"));
  if (appToml === null) {
    throw new AddToProjectError(
      `${appRoot} is not a Supabase project: it has no supabase/config.toml (run \`supabase init\` there first).`,
    );
  }
  const manifest = await readManifest(app(MANIFEST));
  const appMigrations = await listDir(app("supabase/migrations"));
  const kitWritten = new Map<string, string>(); // kit name → app name, from the files themselves
  for (const name of appMigrations) {
    const origin = kitOrigin(await Deno.readTextFile(app(`supabase/migrations/${name}`)));
    if (origin) kitWritten.set(origin, name);
  }
  if (!upgrade && (manifest || kitWritten.size > 0)) {
    throw new AddToProjectError(
      `The kit is already in ${appRoot} (${manifest ? MANIFEST : "its migrations"}). ` +
        "To add what a newer kit brings, run again with --upgrade.",
    );
  }
  if (upgrade && !manifest) {
    throw new AddToProjectError(
      `${appRoot} has no ${MANIFEST}: the kit was not added here. Run without --upgrade first.`,
    );
  }

  // Files: the kit's functions and shared folder, without its tests and test doubles.
  const functions = listFunctions(kit("supabase/functions"));
  const files: string[] = [];
  for (const dir of [SHARED_DIR, ...functions.map((f) => `supabase/functions/${f}`)]) {
    for (const path of await walk(kitRoot, dir)) {
      if (!/(_test|_fakes)\.ts$/.test(path)) files.push(path);
    }
  }
  if (manifest) checkManifestPaths(manifest);
  const ours = new Set(manifest?.files ?? []);
  const clashes: string[] = [];
  for (const path of files) {
    if (!ours.has(path) && await exists(app(path))) clashes.push(path);
  }
  if (clashes.length > 0) {
    throw new AddToProjectError(
      `These files of the app's are where the kit's would go; nothing was written:\n  ` +
        clashes.join("\n  "),
    );
  }
  const removed = (manifest?.files ?? []).filter((path) => !files.includes(path));

  // Migrations: the kit's that the app does not have yet, after the app's latest.
  const kitMigrations = [];
  for (const name of await listDir(kit("supabase/migrations"))) {
    if (name.endsWith(".sql")) {
      kitMigrations.push({
        name,
        text: await Deno.readTextFile(kit(`supabase/migrations/${name}`)),
      });
    }
  }
  const installed = new Set([...Object.keys(manifest?.migrations ?? {}), ...kitWritten.keys()]);
  const migrations = planMigrations(
    kitMigrations,
    appMigrations,
    installed,
    options.now ?? new Date(),
  );

  // config.toml and .env.example: appended to, every existing line kept.
  const configText = configAppendix(
    appToml,
    await Deno.readTextFile(kit("supabase/config.toml")),
    functions,
  );
  const configSections = functions.filter((f) => configText.includes(`[functions.${f}]`));
  const envFile = (await exists(app("supabase/functions/.env.example")))
    ? "supabase/functions/.env.example"
    : (await exists(app(".env.example")))
    ? ".env.example"
    : "supabase/functions/.env.example";
  const appEnv = (await readText(app(envFile))) ?? "";
  const envText = envAppendix(
    appEnv,
    await Deno.readTextFile(kit("supabase/functions/.env.example")),
  );
  const envVariables = [...envNames(envText)];

  // Everything checked: write.
  for (const path of files) {
    await Deno.mkdir(app(path.slice(0, path.lastIndexOf("/"))), { recursive: true });
    await Deno.copyFile(kit(path), app(path));
  }
  for (const path of removed) await Deno.remove(app(path)).catch(() => {});
  if (migrations.length > 0) await Deno.mkdir(app("supabase/migrations"), { recursive: true });
  for (const m of migrations) {
    await Deno.writeTextFile(app(`supabase/migrations/${m.app}`), m.text, { createNew: true });
  }
  if (configText) {
    await Deno.writeTextFile(app("supabase/config.toml"), configText, { append: true });
  }
  if (envText) await Deno.writeTextFile(app(envFile), envText, { append: true });
  const pkg = JSON.parse(await Deno.readTextFile(kit("package.json"))) as {
    name: string;
    version: string;
  };
  const next: Manifest = {
    kit: pkg.name,
    version: pkg.version,
    updated_at: new Date().toISOString(),
    functions,
    files,
    migrations: {
      ...manifest?.migrations,
      ...Object.fromEntries(kitWritten),
      ...Object.fromEntries(migrations.map((m) => [m.kit, m.app])),
    },
  };
  await Deno.writeTextFile(app(MANIFEST), JSON.stringify(next, null, 2) + "\n");
  return {
    upgrade,
    functions,
    copied: files,
    removed,
    migrations,
    configSections,
    envFile,
    envVariables,
  };
}

/**
 * The manifest is a file in the app's tree, so anyone who can commit there can edit it; --upgrade
 * overwrites and deletes what it lists. Each path must therefore be a plain relative path inside
 * the kit's shared folder or one of the kit's function folders, or nothing is done.
 */
function checkManifestPaths(manifest: Manifest): void {
  const functionName = /^[a-z0-9][a-z0-9_-]*$/;
  const functions = Array.isArray(manifest.functions) ? manifest.functions : [];
  const files: unknown[] = Array.isArray(manifest.files) ? manifest.files : [];
  const dirs = [
    SHARED_DIR,
    ...functions.filter((f) => typeof f === "string" && functionName.test(f)).map((f) =>
      `supabase/functions/${f}`
    ),
  ];
  for (const path of files) {
    const plain = typeof path === "string" && !path.includes("\\") &&
      path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
    if (!plain || !dirs.some((dir) => path.startsWith(`${dir}/`))) {
      throw new AddToProjectError(
        `${MANIFEST} lists ${
          JSON.stringify(String(path).slice(0, 200))
        }, outside the kit's folders: restore the file the tool wrote (from version control) and run again. Nothing was written.`,
      );
    }
  }
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function readManifest(path: string): Promise<Manifest | null> {
  const text = await readText(path);
  return text === null ? null : JSON.parse(text) as Manifest;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** File names in `dir`, sorted; none when it does not exist. */
async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.isFile) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

/** Every file under `root/dir`, as paths relative to `root`, sorted. */
async function walk(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${root}/${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await walk(root, path));
    else if (entry.isFile) out.push(path);
  }
  return out.sort();
}
