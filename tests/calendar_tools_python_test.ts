/**
 * docs/tools.md's Python tool loop, as the FastAPI bot runs it: Debian's python3 and httpx over
 * calendar-tools, with the scripted stand-in playing the model (no LLM).
 */

import assert from "node:assert/strict";
import { connectedUser, emulatorControl, stack } from "./support/stack.ts";

const PYTHON = "/usr/bin/python3";
const CHECK_DIR = ".local/readme-check";

const snippet = (await Deno.readTextFile("docs/tools.md")).match(/```python\n([\s\S]*?)```/)?.[1];
await Deno.mkdir(CHECK_DIR, { recursive: true });
await Deno.writeTextFile(`${CHECK_DIR}/tool_loop.py`, snippet ?? "");

Deno.test("docs/tools.md (Python): the bot's tool loop reads the context, fixes a refused call, answers", async () => {
  assert(snippet?.includes("def tool_loop"), "docs/tools.md has the Python tool loop");
  const { user, google } = await connectedUser("py-tools");
  const start = new Date(Date.now() + 2 * 3600_000);
  await emulatorControl("events", {
    email: google,
    items: [{
      id: "dentist",
      summary: "Dentist",
      start: { dateTime: start.toISOString() },
      end: { dateTime: new Date(start.getTime() + 3600_000).toISOString() },
    }],
  });
  const driver = [
    "import sys",
    `sys.path.insert(0, ${JSON.stringify(CHECK_DIR)})`,
    "import tool_loop",
    "print(tool_loop.tool_loop(sys.argv[1], tool_loop.ScriptedModel()))",
  ].join("\n");
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", driver, user.id],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      SUPABASE_URL: stack.api_url,
      BOT_API_KEY: stack.function_env?.BOT_API_KEYS?.split(",")[0] ?? "",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "Next up: Dentist (1 in all).");
});
