/**
 * `npm run add-to-project` on a fresh `supabase init` project that has its own
 * supabase/functions/_shared/cors.ts, a function, a migration and an .env.example: the app's
 * files stay byte-identical (config.toml and .env.example only gain lines at their end), a second
 * run is refused and changes nothing, `--upgrade` adds only a newer kit migration, the kit's
 * functions type-check in the app's tree, and the app's migrations and the kit's apply in order
 * on the test stack's Postgres server (a scratch database, prepared as Supabase prepares one).
 */

import assert from "node:assert/strict";
import { psql, queryRows } from "../local/stack/postgres.ts";
import { DENO, SUPABASE_CLI, supabaseCliEnv } from "../local/stack/tools.ts";
import { versionOf } from "../local/add_to_project/plan.ts";
import { stack } from "./support/stack.ts";

const KIT = Deno.cwd();
const KIT_FUNCTIONS = [
  "calendar-upcoming",
  "google-callback",
  "google-connect",
  "google-disconnect",
  "google-maintenance",
  "google-status",
];

async function run(cmd: string, args: string[], cwd = KIT) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { ...supabaseCliEnv(), NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Every file under `root`, by relative path, with its bytes. */
async function snapshot(root: string, dir = ""): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for await (const entry of Deno.readDir(`${root}/${dir}`)) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory) {
      for (const [p, b] of await snapshot(root, path)) files.set(p, b);
    } else if (entry.isFile) files.set(path, await Deno.readFile(`${root}/${path}`));
  }
  return files;
}

const decode = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** The app's own files are unchanged; config.toml and .env.example only grew at their end. */
function assertAppUntouched(before: Map<string, Uint8Array>, after: Map<string, Uint8Array>) {
  const appended = ["supabase/config.toml", "supabase/functions/.env.example"];
  for (const [path, bytes] of before) {
    assert.ok(after.has(path), `${path} is still there`);
    if (appended.includes(path)) {
      assert.ok(
        decode(after.get(path)).startsWith(decode(bytes)),
        `${path}: its lines as they were`,
      );
    } else {
      assert.deepEqual(after.get(path), bytes, `${path} is byte-identical`);
    }
  }
}

const addToProject = (app: string, ...flags: string[]) =>
  run(DENO, ["run", "-A", "local/add_to_project/main.ts", app, ...flags]);

Deno.test("add-to-project: a fresh supabase init app gets the kit, and keeps its own files", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "add-to-project-" });
  const app = `${tmp}/app`;
  await Deno.mkdir(app);
  const dbName = `add_to_project_${crypto.randomUUID().slice(0, 8)}`;
  try {
    const init = await run(`${KIT}/${SUPABASE_CLI}`, ["init"], app);
    assert.equal(init.code, 0, init.stderr);
    // The app's own: Supabase's cors.ts, a function using it, a migration, an .env.example.
    const own: Record<string, string> = {
      "supabase/functions/_shared/cors.ts":
        'export const corsHeaders = { "Access-Control-Allow-Origin": "*" };\n',
      "supabase/functions/hello/index.ts": 'import { corsHeaders } from "../_shared/cors.ts";\n' +
        'Deno.serve(() => new Response("hi", { headers: corsHeaders }));\n',
      "supabase/migrations/20270301120000_todos.sql":
        "create table public.todos (id bigint primary key, owner uuid references auth.users (id));\n",
      // No final newline: the tool must not glue its lines onto the app's last one.
      "supabase/functions/.env.example": "# The app's own.\nOPENAI_API_KEY=",
    };
    for (const [path, text] of Object.entries(own)) {
      await Deno.mkdir(`${app}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      await Deno.writeTextFile(`${app}/${path}`, text);
    }
    const before = await snapshot(app);

    let afterFirst = new Map<string, Uint8Array>();
    await t.step("the first run adds the kit and says what to do next", async () => {
      const out = await addToProject(app);
      assert.equal(out.code, 0, out.stderr);
      for (
        const step of [
          "supabase secrets set",
          "supabase db push",
          "functions deploy",
          "npm run schedule",
        ]
      ) {
        assert.ok(out.stdout.includes(step), `next steps name ${step}`);
      }
      afterFirst = await snapshot(app);
      assertAppUntouched(before, afterFirst);
      for (const f of KIT_FUNCTIONS) {
        assert.ok(afterFirst.has(`supabase/functions/${f}/index.ts`), f);
      }
      assert.ok(afterFirst.has("supabase/functions/_google_calendar/mod.ts"));
      assert.ok(![...afterFirst.keys()].some((p) => p.endsWith("_test.ts")), "no kit tests copied");
      const toml = decode(afterFirst.get("supabase/config.toml"));
      for (const f of KIT_FUNCTIONS) assert.ok(toml.includes(`[functions.${f}]`), f);
      const env = decode(afterFirst.get("supabase/functions/.env.example"));
      assert.match(
        env,
        /^OPENAI_API_KEY=\n/m,
        "the app's last line ends as it was, then a newline",
      );
      assert.match(env, /^TOKEN_ENCRYPTION_KEY=$/m);
      const migrations = [...afterFirst.keys()].filter((p) => p.startsWith("supabase/migrations/"))
        .sort();
      assert.equal(migrations[0], "supabase/migrations/20270301120000_todos.sql");
      const kitCount = [...Deno.readDirSync("supabase/migrations")].length;
      assert.equal(migrations.length, 1 + kitCount, "every kit migration, after the app's");
    });

    await t.step("a second run is refused and changes nothing", async () => {
      const out = await addToProject(app);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /already in .*--upgrade/s);
      assert.deepEqual(await snapshot(app), afterFirst);
    });

    await t.step("--upgrade adds only the newer kit migration, after everything", async () => {
      // A newer kit: this one plus a migration.
      const kit2 = `${tmp}/kit2`;
      await Deno.mkdir(kit2);
      const cp = await run("cp", ["-r", `${KIT}/supabase`, `${KIT}/package.json`, kit2]);
      assert.equal(cp.code, 0, cp.stderr);
      await Deno.writeTextFile(
        `${kit2}/supabase/migrations/20261206000099_upgrade_probe.sql`,
        "create table public.kit_upgrade_probe (id int);\n",
      );
      const out = await addToProject(app, "--upgrade", "--kit", kit2);
      assert.equal(out.code, 0, out.stderr);
      const after = await snapshot(app);
      assertAppUntouched(before, after);
      const added = [...after.keys()].filter((p) => !afterFirst.has(p));
      // One second after the last of the kit's migrations, which follow the app's (12:00:00).
      const kitCount = [...Deno.readDirSync("supabase/migrations")].length;
      const version = versionOf(new Date(Date.UTC(2027, 2, 1, 12, 0, kitCount + 1)));
      assert.deepEqual(added, [
        `supabase/migrations/${version}_google_calendar_kit_upgrade_probe.sql`,
      ]);
      assert.equal(
        decode(after.get("supabase/config.toml")),
        decode(afterFirst.get("supabase/config.toml")),
        "config.toml: every section there already",
      );
    });

    await t.step("the kit's functions type-check in the app's tree", async () => {
      const entries = KIT_FUNCTIONS.map((f) => `${app}/supabase/functions/${f}/index.ts`);
      const out = await run(DENO, ["check", "--config", "deno.json", ...entries]);
      assert.equal(out.code, 0, out.stderr);
    });

    await t.step("the app's migrations and the kit's apply in order on Postgres", async () => {
      await psql(stack.db_url, ["-c", `create database ${dbName}`]);
      const url = new URL(stack.db_url);
      url.pathname = `/${dbName}`;
      const db = url.toString();
      // What every Supabase project has before its migrations (roles, auth.users, extensions).
      await psql(db, ["-f", "local/stack/bootstrap.sql"]);
      const names = [...Deno.readDirSync(`${app}/supabase/migrations`)].map((e) => e.name).sort();
      for (const name of names) await psql(db, ["-f", `${app}/supabase/migrations/${name}`]);
      const tables = await queryRows(
        db,
        "select table_name from information_schema.tables where table_schema = 'public' " +
          "and table_name in ('todos', 'google_calendar_tokens', 'kit_upgrade_probe') order by 1",
      );
      assert.deepEqual(tables, ["google_calendar_tokens", "kit_upgrade_probe", "todos"]);
    });
  } finally {
    await psql(stack.db_url, ["-c", `drop database if exists ${dbName} with (force)`]).catch(
      () => {},
    );
    await Deno.remove(tmp, { recursive: true });
  }
});
