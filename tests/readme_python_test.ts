/**
 * The README's Python snippet is what the first user's FastAPI bot runs: executed here with
 * Debian's python3 and httpx against the stack, through a whole connect and disconnect.
 */

import assert from "node:assert/strict";
import { connectFully, createUser, stack } from "./support/stack.ts";

const PYTHON = "/usr/bin/python3";
const CHECK_DIR = ".local/readme-check";

// The FastAPI bot's calls live in docs/bot.md.
const snippet = (await Deno.readTextFile("docs/bot.md")).match(/```python\n([\s\S]*?)```/)?.[1];
await Deno.mkdir(CHECK_DIR, { recursive: true });
await Deno.writeTextFile(`${CHECK_DIR}/bot.py`, snippet ?? "");

/** Runs `bot.<fn>(user_id)` from the README's code; its return value, or the error's code. */
async function bot(fn: string, userId: string): Promise<{ value?: unknown; code?: string }> {
  const driver = [
    "import asyncio, json, sys",
    `sys.path.insert(0, ${JSON.stringify(CHECK_DIR)})`,
    "import bot",
    "try:",
    `    print(json.dumps({"value": asyncio.run(bot.${fn}(sys.argv[1]))}))`,
    "except bot.CalendarError as e:",
    '    print(json.dumps({"code": e.code}))',
  ].join("\n");
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", driver, userId],
    // Only what the bot is configured with: no proxy or other settings from this machine.
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      SUPABASE_URL: stack.api_url,
      BOT_API_KEY: stack.function_env?.BOT_API_KEYS?.split(",")[0] ?? "",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert(
    out.success,
    `python failed (install python3-httpx: bash local/bin/ensure_tools.sh --tests):\n${stderr}`,
  );
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("README (Python): the bot gets a link, sees the user connected, then disconnects them", async () => {
  assert(snippet, "docs/bot.md has a Python snippet");
  const user = await createUser("py-bot");

  const link = new URL((await bot("calendar_link", user.id)).value as string);
  assert.deepEqual(link.origin, new URL(stack.google_emulator_url).origin, "a consent link");
  assert(link.searchParams.get("state") && link.searchParams.get("code_challenge"), "state, PKCE");

  const answer = await connectFully(user);
  assert.deepEqual(answer.status, 303);
  assert.deepEqual(
    await bot("calendar_link", user.id),
    { value: null },
    "connected: no link needed",
  );

  assert.deepEqual(await bot("disconnect", user.id), { value: null });
  const again = (await bot("calendar_link", user.id)).value as string;
  assert(again.startsWith(stack.google_emulator_url), "disconnected: a new link");
});

Deno.test("README (Python): a refusal reaches the bot as CalendarError with the stable code", async () => {
  assert.deepEqual(await bot("calendar_link", crypto.randomUUID()), { code: "user_not_found" });
});
