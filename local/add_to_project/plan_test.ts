import assert from "node:assert/strict";
import {
  configAppendix,
  envAppendix,
  envNames,
  functionSections,
  kitOrigin,
  MIGRATION_MARKER,
  planMigrations,
} from "./plan.ts";

const kit = [
  { name: "20261124000100_b.sql", text: "select 2;\n" },
  { name: "20261124000000_a.sql", text: "select 1;\n" },
];
const now = new Date("2026-12-06T04:00:00.500Z");

Deno.test("plan: kit migrations sort after the app's latest, one second apart, in the kit's order", () => {
  const planned = planMigrations(kit, ["20270301120000_todos.sql", "README.md"], new Set(), now);
  assert.deepEqual(planned.map((m) => [m.kit, m.app]), [
    ["20261124000000_a.sql", "20270301120001_google_calendar_kit_a.sql"],
    ["20261124000100_b.sql", "20270301120002_google_calendar_kit_b.sql"],
  ]);
  assert.equal(planned[0]!.text, `${MIGRATION_MARKER} 20261124000000_a.sql\nselect 1;\n`);
  assert.equal(kitOrigin(planned[0]!.text), "20261124000000_a.sql");
  assert.equal(kitOrigin("create table x ();\n"), null);
});

Deno.test("plan: an app whose migrations are older (or none) gets versions from now", () => {
  const planned = planMigrations(kit, ["20240101000000_init.sql"], new Set(), now);
  assert.deepEqual(planned.map((m) => m.app.slice(0, 14)), ["20261206040000", "20261206040001"]);
  assert.equal(planMigrations(kit, [], new Set(), now)[0]!.app.slice(0, 14), "20261206040000");
});

Deno.test("plan: installed kit migrations are not written again; a new one goes after everything", () => {
  const planned = planMigrations(
    [...kit, { name: "20261206000000_c.sql", text: "select 3;\n" }],
    ["20270301120000_todos.sql", "20270301120002_google_calendar_kit_b.sql"],
    new Set(["20261124000000_a.sql", "20261124000100_b.sql"]),
    now,
  );
  assert.deepEqual(planned.map((m) => m.app), ["20270301120003_google_calendar_kit_c.sql"]);
});

Deno.test("plan: a latest version that is not a date is refused, not guessed past", () => {
  assert.throws(() => planMigrations(kit, ["99999999999999_x.sql"], new Set(), now), /not a date/);
});

const kitToml = `project_id = "kit"

[api]
port = 54321

# Shared comment.
[functions.one]
verify_jwt = false
import_map = "./functions/one/deno.json"

[functions.two]
verify_jwt = false

# Maintenance.
[functions.three]
verify_jwt = false
`;

Deno.test("plan: config sections come with their comment lines, and only for the kit's functions", () => {
  assert.deepEqual(functionSections(kitToml).map((s) => s.name), ["one", "two", "three"]);
  assert.equal(
    functionSections(kitToml)[0]!.text,
    '# Shared comment.\n[functions.one]\nverify_jwt = false\nimport_map = "./functions/one/deno.json"',
  );
  const app = '[api]\nport = 1\n\n[functions."two"]\nverify_jwt = true';
  const appendix = configAppendix(app, kitToml, ["one", "two", "three"]);
  assert.ok(appendix.startsWith("\n\n# --- google-calendar kit"), "a newline first: no final one");
  assert.ok(appendix.includes("[functions.one]") && appendix.includes("[functions.three]"));
  assert.ok(!appendix.includes("[functions.two]"), "the app's own section is left alone");
  assert.ok((app + appendix).startsWith(app), "every app line as it was");
  assert.equal(configAppendix(app + appendix, kitToml, ["one", "two", "three"]), "");
});

Deno.test("plan: env variables the app lacks are appended with their comments; present ones are not", () => {
  const kitEnv =
    "# Intro.\n\n# --- Google ---\n# The id.\nA_ID=\nA_SECRET=\n\n# --- Other ---\nB=\n";
  const appEnv = "# Mine\nB=1";
  const appendix = envAppendix(appEnv, kitEnv);
  assert.equal(
    appendix,
    "\n\n# === google-calendar kit (added by npm run add-to-project) ===\n" +
      "# --- Google ---\n# The id.\nA_ID=\nA_SECRET=\n",
  );
  assert.deepEqual([...envNames(appEnv + appendix)].sort(), ["A_ID", "A_SECRET", "B"]);
  assert.equal(envAppendix(appEnv + appendix, kitEnv), "");
  assert.ok(envAppendix("", kitEnv).startsWith("# === google-calendar kit"));
});
