/**
 * supabase/functions/.env: the example lists every variable the functions read, and `npm start`
 * merges a developer's file over its generated values without taking what Supabase owns.
 */

import { loadConfig } from "../supabase/functions/_google_calendar/config.ts";
import { EnvFileError, mergeFunctionEnv, parseEnvFile } from "../local/stack/env_file.ts";
import assert from "node:assert/strict";
import { VALID_ENV } from "./support/config_env.ts";

const EXAMPLE = "supabase/functions/.env.example";

/** Every name the functions' configuration reads, found by watching loadConfig read them. */
function namesReadByConfig(): Set<string> {
  const seen = new Set<string>();
  // A valid configuration, so that no early failure hides the optional names.
  loadConfig(
    new Proxy({ ...VALID_ENV }, {
      get(target, name) {
        if (typeof name === "string") seen.add(name);
        return typeof name === "string" ? target[name] : undefined;
      },
    }),
  );
  return seen;
}

Deno.test(".env.example: sets every variable the functions read, except Supabase's own", async () => {
  const text = await Deno.readTextFile(EXAMPLE);
  const listed = new Set([...text.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
  const read = namesReadByConfig();
  assert(read.size >= 15, `loadConfig was observed reading ${[...read].join(", ")}`);
  for (const name of read) {
    if (name.startsWith("SUPABASE_")) {
      assert(!listed.has(name), `${name} is Supabase's; secrets set would skip it`);
      assert(text.includes(name), `${name} is mentioned as set by Supabase`);
    } else {
      assert(listed.has(name), `${name} is in ${EXAMPLE}`);
    }
  }
  for (const name of listed) {
    assert(read.has(name), `${EXAMPLE} lists ${name}, which nothing reads`);
  }
  // Nothing real in the example: every value is empty.
  assert.deepEqual(Object.keys(parseEnvFile(text, EXAMPLE)), []);
});

Deno.test(".env: parsed like dotenv (comments, export, quotes); a bad line names its number", () => {
  const env = parseEnvFile(
    [
      "# comment",
      "",
      "A=plain # trailing comment",
      "export B = 'single # kept'",
      'C="line\\nbreak"',
      "D=",
      "E=a=b",
    ].join("\n"),
    "x.env",
  );
  assert.deepEqual(env, { A: "plain", B: "single # kept", C: "line\nbreak", E: "a=b" });
  assert.throws(
    () => parseEnvFile("A=1\nnot a line\n", "x.env"),
    (e) => e instanceof EnvFileError && e.message === "x.env:2: expected NAME=value",
  );
  assert.throws(
    () => parseEnvFile('A="open', "x.env"),
    (e) => e instanceof EnvFileError && e.message.includes("closing"),
  );
});

const GENERATED = {
  SUPABASE_URL: "http://127.0.0.1:54321",
  GOOGLE_CLIENT_ID: "local-dev-client",
  GOOGLE_CLIENT_SECRET: "local-secret",
  GOOGLE_OAUTH_BASE_URL: "http://127.0.0.1:54324",
  GOOGLE_API_BASE_URL: "http://127.0.0.1:54324",
  GOOGLE_REDIRECT_URI: "http://127.0.0.1:54321/functions/v1/google-callback",
  OAUTH_STATE_SECRET: "generated-state-secret",
};

Deno.test(".env over npm start's values: the file wins, except SUPABASE_* and the redirect URI", () => {
  const { env, notes } = mergeFunctionEnv(GENERATED, {
    OAUTH_STATE_SECRET: "from-file",
    HTTP_TIMEOUT_MS: "2500",
    SUPABASE_URL: "https://elsewhere.example",
    GOOGLE_REDIRECT_URI: "https://abc.supabase.co/functions/v1/google-callback",
    GOOGLE_OAUTH_BASE_URL: "https://emulator.example",
  });
  assert.deepEqual(env.OAUTH_STATE_SECRET, "from-file");
  assert.deepEqual(env.HTTP_TIMEOUT_MS, "2500");
  assert.deepEqual(env.SUPABASE_URL, GENERATED.SUPABASE_URL);
  assert.deepEqual(env.GOOGLE_REDIRECT_URI, GENERATED.GOOGLE_REDIRECT_URI);
  // No client of its own in the file: the emulator's client and endpoints stay together.
  assert.deepEqual(env.GOOGLE_OAUTH_BASE_URL, GENERATED.GOOGLE_OAUTH_BASE_URL);
  assert.deepEqual(notes.length, 3);
  assert(notes.every((n) => n.includes("skipped")), notes.join("; "));
});

Deno.test(".env with a Google client: real Google's endpoints unless the file names others", () => {
  const { env } = mergeFunctionEnv(GENERATED, {
    GOOGLE_CLIENT_ID: "real.apps.googleusercontent.com",
    GOOGLE_CLIENT_SECRET: "real-secret",
  });
  assert.deepEqual(env.GOOGLE_CLIENT_ID, "real.apps.googleusercontent.com");
  assert.deepEqual(env.GOOGLE_CLIENT_SECRET, "real-secret");
  assert.deepEqual(env.GOOGLE_OAUTH_BASE_URL, undefined);
  assert.deepEqual(env.GOOGLE_API_BASE_URL, undefined);
  assert.throws(
    () => mergeFunctionEnv(GENERATED, { GOOGLE_CLIENT_ID: "real.apps.googleusercontent.com" }),
    (e) => e instanceof EnvFileError && e.message.includes("GOOGLE_CLIENT_SECRET"),
  );
});
