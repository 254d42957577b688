/**
 * What `npm run add-to-project` writes, worked out from file contents alone (./apply.ts does the
 * writing): the kit's migrations renamed to sort after the app's, the kit's `[functions.*]`
 * sections the app's config.toml lacks, and the kit's variables its .env.example lacks.
 */

/** The first line of every migration the tool writes; the kit's own file name follows it. */
export const MIGRATION_MARKER = "-- google-calendar kit migration:";

/** The comment above what the tool appends to config.toml and .env.example. */
export const APPENDED_MARKER = "google-calendar kit (added by npm run add-to-project";

const VERSION = /^(\d{14})_(.+\.sql)$/;

/** A migration file name's 14-digit version, or null when it has none. */
export function migrationVersion(name: string): string | null {
  return VERSION.exec(name)?.[1] ?? null;
}

/** The kit migration a written file came from, read from its first line; null for the app's own. */
export function kitOrigin(text: string): string | null {
  const first = text.split("\n", 1)[0] ?? "";
  return first.startsWith(MIGRATION_MARKER) ? first.slice(MIGRATION_MARKER.length).trim() : null;
}

/** `date` as a migration version: YYYYMMDDHHMMSS in UTC. */
export function versionOf(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

/** A migration version as a date (UTC); null when it is not a real time. */
function dateOf(version: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(version);
  if (!m) return null;
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** One kit migration to write into the app. */
export interface PlannedMigration {
  /** The kit's file name. */
  kit: string;
  /** The app's new file name. */
  app: string;
  /** The new file's contents: the marker line, then the kit's file unchanged. */
  text: string;
}

/**
 * The kit migrations not yet in the app (`installed`: kit file names already written), each
 * renamed to sort after every migration the app has, one second apart, in the kit's order, and
 * never before `now`: `supabase db push` applies only migrations newer than the remote's latest.
 */
export function planMigrations(
  kit: { name: string; text: string }[],
  appNames: string[],
  installed: ReadonlySet<string>,
  now: Date,
): PlannedMigration[] {
  const todo = kit.filter((m) => !installed.has(m.name)).sort((a, b) => a.name < b.name ? -1 : 1);
  const versions = appNames.map(migrationVersion).filter((v): v is string => v !== null).sort();
  const latest = versions.at(-1);
  let next = now;
  if (latest) {
    const after = dateOf(latest);
    if (!after) throw new Error(`the app's latest migration version ${latest} is not a date`);
    if (after.getTime() + 1000 > next.getTime()) next = new Date(after.getTime() + 1000);
  }
  next = new Date(Math.floor(next.getTime() / 1000) * 1000);
  return todo.map((m) => {
    const rest = VERSION.exec(m.name)?.[2];
    if (!rest) throw new Error(`kit migration ${m.name} has no 14-digit version`);
    const app = `${versionOf(next)}_google_calendar_kit_${rest}`;
    next = new Date(next.getTime() + 1000);
    return { kit: m.name, app, text: `${MIGRATION_MARKER} ${m.name}\n${m.text}` };
  });
}

/** The `[functions.<name>]` sections of a config.toml, each with the comment lines above it. */
export function functionSections(toml: string): { name: string; text: string }[] {
  const lines = toml.split("\n");
  const sections: { name: string; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const header = /^\[functions\.("?)([\w-]+)\1\]\s*$/.exec(lines[i]!);
    if (!header) continue;
    let start = i;
    while (start > 0 && lines[start - 1]!.startsWith("#")) start--;
    let end = i + 1;
    while (end < lines.length && !/^\s*(\[|#)/.test(lines[end]!)) end++;
    while (end > i + 1 && lines[end - 1]!.trim() === "") end--;
    sections.push({ name: header[2]!, text: lines.slice(start, end).join("\n") });
  }
  return sections;
}

/** The names of the functions a config.toml has a section for. */
export function configuredFunctions(toml: string): Set<string> {
  return new Set(functionSections(toml).map((s) => s.name));
}

/**
 * What to append to the app's config.toml: the kit's sections for `names` the app lacks, under
 * one marker comment; "" when there is none. The app's own lines stay as they were (a missing
 * final newline is added first, so its last line ends as a line).
 */
export function configAppendix(appToml: string, kitToml: string, names: string[]): string {
  const present = configuredFunctions(appToml);
  const wanted = functionSections(kitToml).filter((s) => names.includes(s.name));
  const missing = wanted.filter((s) => !present.has(s.name));
  if (missing.length === 0) return "";
  const lead = appToml === "" || appToml.endsWith("\n") ? "" : "\n";
  return `${lead}\n# --- ${APPENDED_MARKER}; see its docs/add-to-project.md) ---\n` +
    missing.map((s) => s.text).join("\n\n") + "\n";
}

/** The variables an env file defines or lists (`NAME=`, commented out or not). */
export function envNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^\s*#?\s*([A-Z][A-Z0-9_]*)=/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/**
 * What to append to the app's .env.example: each kit variable it lacks, with the comment lines
 * above it in the kit's file (a section's heading comes along with its first variable); "" when
 * it lacks none.
 */
export function envAppendix(appEnv: string, kitEnv: string): string {
  const have = envNames(appEnv);
  const lines = kitEnv.split("\n");
  const blocks: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^([A-Z][A-Z0-9_]*)=/.exec(lines[i]!);
    if (!m || have.has(m[1]!)) continue;
    let start = i;
    while (start > 0 && lines[start - 1]!.startsWith("#")) start--;
    blocks.push(lines.slice(start, i + 1).join("\n"));
  }
  if (blocks.length === 0) return "";
  const lead = appEnv === "" || appEnv.endsWith("\n") ? "" : "\n";
  // A section's heading (`# --- …`) gets a blank line above it, as in the kit's file.
  const body = blocks.map((b, i) => i > 0 && b.startsWith("# ---") ? `\n${b}` : b).join("\n");
  return `${lead}${appEnv === "" ? "" : "\n"}# === ${APPENDED_MARKER}) ===\n${body}\n`;
}
