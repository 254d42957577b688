/**
 * The README and docs/ stay true to the code: their TypeScript snippets type-check against the
 * front door (the bot's also runs against the stack), their CLI commands exist in the pinned CLI,
 * and the configuration table names every variable.
 */

import assert from "node:assert/strict";
import { createUser, stack } from "./support/stack.ts";
import { DENO, SUPABASE_CLI, supabaseCliEnv } from "../local/stack/tools.ts";

const README = await Deno.readTextFile("README.md");
const DOCS = await Promise.all(
  [...Deno.readDirSync("docs")].filter((e) => e.name.endsWith(".md")).map((e) =>
    Deno.readTextFile(`docs/${e.name}`)
  ),
);
/** The README and every page of docs/: snippets are checked wherever they live. */
const ALL_TEXT = [README, ...DOCS].join("\n");
const CHECK_DIR = ".local/readme-check";
/** The bot's key on this stack, as the README tells the bot to send it. */
const BOT_API_KEY = stack.function_env?.BOT_API_KEYS?.split(",")[0] ?? "";

/** The ```ts blocks of the README and docs/, in order. */
function typescriptBlocks(): string[] {
  return [...ALL_TEXT.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

async function typeCheck(file: string, code: string): Promise<void> {
  await Deno.writeTextFile(file, code);
  const out = await new Deno.Command(DENO, {
    args: ["check", "--config", "deno.json", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const errors = new TextDecoder().decode(out.stderr);
  assert(out.success, `${file} does not type-check:\n${errors}`);
}

Deno.test("README: the skill snippet is one import of the front door and type-checks against it", async () => {
  const snippet = typescriptBlocks().find((b) => b.includes("../_google_calendar/mod.ts"));
  assert(snippet, "the README shows a skill using the front door");
  const imports = snippet.split("\n").filter((l) => l.startsWith("import "));
  assert.deepEqual(imports.length, 1, "one import line");
  assert(snippet.split("\n").length <= 40, "a short example");
  // Beside a link to the real _shared folder, so its relative imports resolve as in a deploy.
  await Deno.mkdir(`${CHECK_DIR}/example-function`, { recursive: true });
  await Deno.remove(`${CHECK_DIR}/_google_calendar`).catch(() => {});
  await Deno.symlink(
    await Deno.realPath("supabase/functions/_google_calendar"),
    `${CHECK_DIR}/_google_calendar`,
  );
  await typeCheck(`${CHECK_DIR}/example-function/index.ts`, snippet);
});

Deno.test("README: the bot's TypeScript snippet type-checks", async () => {
  const snippet = typescriptBlocks().find((b) => b.includes("export async function calendarLink"));
  assert(snippet, "the README shows the bot calling google-connect");
  await Deno.mkdir(CHECK_DIR, { recursive: true });
  await typeCheck(`${CHECK_DIR}/bot.ts`, snippet);
});

Deno.test("README: the bot's TypeScript snippet runs: a link, then a disconnect, and a refusal's code", async () => {
  const snippet = typescriptBlocks().find((b) => b.includes("export async function calendarLink"));
  assert(snippet, "the README shows the bot calling google-connect");
  assert(BOT_API_KEY, "the stack has a bot key");
  await Deno.mkdir(CHECK_DIR, { recursive: true });
  await Deno.writeTextFile(`${CHECK_DIR}/bot_run.ts`, snippet);
  const user = await createUser("ts-bot");
  const driver = `
    import { calendarLink, disconnectCalendar } from "./${CHECK_DIR}/bot_run.ts";
    const link = await calendarLink(Deno.args[0]);
    await disconnectCalendar(Deno.args[0]);
    const refusal = await calendarLink(crypto.randomUUID()).catch((e) => e.message);
    console.log(JSON.stringify({ link, refusal }));
  `;
  const out = await new Deno.Command(DENO, {
    args: ["eval", "--config", "deno.json", driver, user.id],
    env: { SUPABASE_URL: stack.api_url, BOT_API_KEY },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const { link, refusal } = JSON.parse(new TextDecoder().decode(out.stdout));
  assert(String(link).startsWith(stack.google_emulator_url), `a consent link: ${link}`);
  assert.deepEqual(refusal, "google-connect refused: user_not_found");
});

Deno.test("README: the curl block runs against the stack on whatever ports it has", async () => {
  const block = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!)
    .find((b) => b.includes("/google-connect?user_id="));
  assert(block, "the README shows the bot's calls with curl");
  assert(!block.includes("54321"), "no fixed port: `npm start -- --ports auto` picks others");
  const user = await createUser("curl-bot");
  const script = "set -euo pipefail\n" + block
    // The same command as `npm run -s status --`, for this stack's folder.
    .replace(
      "npm run -s status --",
      `${DENO} run -A local/stack/main.ts status --dir ${stack.stack_dir}`,
    )
    .replace(/^USER_ID=.*$/m, `USER_ID=${user.id}`)
    .replace(/^(curl .*)$/gm, "$1; echo");
  const out = await new Deno.Command("bash", {
    args: ["-c", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const answers = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(answers.length, 4);
  assert(
    String(answers[0].auth_url).startsWith(stack.google_emulator_url),
    "google-connect: a link",
  );
  assert.equal(answers[1].connected, false, "google-status: not connected yet");
  assert.equal(answers[2].code, "google_not_connected", "calendar-upcoming: not connected");
});

Deno.test("docs: the configuration table names every variable of .env.example", async () => {
  const example = await Deno.readTextFile("supabase/functions/.env.example");
  const names = [...example.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
  assert(names.length >= 10, `.env.example lists ${names.length} variables`);
  const section = await Deno.readTextFile("docs/configuration.md");
  for (const name of names) assert(section.includes(`\`${name}\``), `${name} in the table`);
});

Deno.test("README: a Mermaid sequence diagram of bot, functions, browser, Google and database", () => {
  const diagram = README.match(/```mermaid\n([\s\S]*?)```/)?.[1] ?? "";
  assert(diagram.startsWith("sequenceDiagram"), "a sequence diagram");
  for (const who of ["Bot", "Connect", "Callback", "Browser", "Google", "DB"]) {
    assert(new RegExp(`participant ${who}\\b`).test(diagram), `participant ${who}`);
  }
});

Deno.test("README: every Supabase CLI command it tells you to run exists with those flags in the pinned CLI", async () => {
  const lines = [...ALL_TEXT.matchAll(/^\s*npx supabase ([^#\n]+)/gm)].map((m) => m[1]!.trim());
  assert(lines.length >= 5, `found ${lines.length} commands`);
  for (const line of lines) {
    const tokens = line.split(/\s+/);
    const words = tokens.slice(0, 2).filter((t) => /^[a-z]+$/.test(t));
    if (words.length === 2 && tokens[1]?.startsWith("-")) words.pop();
    const flags = tokens.filter((t) => t.startsWith("--")).map((t) => t.split("=")[0]!);
    const out = await new Deno.Command(SUPABASE_CLI, {
      args: [...words, "--help"],
      env: supabaseCliEnv(),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const help = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert(out.success && help.includes("USAGE"), `supabase ${words.join(" ")} --help:\n${help}`);
    assert(help.includes(`supabase ${words.join(" ")}`), `${words.join(" ")} is a command`);
    for (const flag of flags) assert(help.includes(`${flag} `), `supabase ${line}: ${flag} exists`);
  }
});
