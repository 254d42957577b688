/** loadConfig(): read once, validated, failing with every bad variable named. */

import { ConfigError, loadConfig } from "./config.ts";
import { GOOGLE_DEFAULTS } from "./google_facts.ts";
import assert from "node:assert/strict";
import { ENCRYPTION_KEY, VALID_ENV } from "../../../tests/support/config_env.ts";

const KEY_2 = "Zr4TnW8yPq1LmX5vBc7KdH2jS9fA0gE3uI6oYtRxQwM";
const BOT_KEY = "bot_6c1f9e2a7b4d8035e1a9c7f24b6d0e83";

function problems(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.problems;
  }
  assert.fail("loadConfig() accepted the environment");
}

Deno.test("loadConfig() names every missing variable in one error", () => {
  const found = problems({}).join("\n");
  for (
    const name of [
      "SUPABASE_URL",
      "SUPABASE_SERVICE_ROLE_KEY",
      "GOOGLE_CLIENT_ID",
      "GOOGLE_CLIENT_SECRET",
      "GOOGLE_REDIRECT_URI",
      "OAUTH_STATE_SECRET",
      "TOKEN_ENCRYPTION_KEY",
    ]
  ) assert(found.includes(name), `${name} named in: ${found}`);
});

Deno.test("loadConfig() defaults to Google's real endpoints, over https only", () => {
  const config = loadConfig(VALID_ENV);
  assert.deepEqual(config.google.tokenEndpoint, GOOGLE_DEFAULTS.tokenEndpoint);
  assert.deepEqual(config.google.authorizationEndpoint, GOOGLE_DEFAULTS.authorizationEndpoint);
  assert.deepEqual(config.google.issuer, "https://accounts.google.com");
  assert.deepEqual(config.google.allowInsecureRequests, false);
  assert(Object.isFrozen(config) && Object.isFrozen(config.google), "frozen");
});

Deno.test("loadConfig() allows plain http only for a loopback emulator", () => {
  const local = loadConfig({ ...VALID_ENV, GOOGLE_OAUTH_BASE_URL: "http://127.0.0.1:54324" });
  assert.deepEqual(local.google.tokenEndpoint, "http://127.0.0.1:54324/token");
  assert.deepEqual(local.google.allowInsecureRequests, true);
  const found = problems({ ...VALID_ENV, GOOGLE_OAUTH_BASE_URL: "http://evil.example" });
  assert(found.some((p) => p.startsWith("GOOGLE_OAUTH_BASE_URL")));
});

Deno.test("loadConfig() refuses a short state secret or the Supabase JWT secret", () => {
  assert(problems({ ...VALID_ENV, OAUTH_STATE_SECRET: "short" })[0]!.includes("32 bytes"));
  const jwt = "Jw7tS3cr3t-9xQ2mV5nB8kL1pZ4rT6yH0";
  const found = problems({ ...VALID_ENV, OAUTH_STATE_SECRET: jwt, SUPABASE_JWT_SECRET: jwt });
  assert(found[0]!.includes("Supabase JWT secret"));
});

Deno.test("loadConfig() checks encryption keys: 32 bytes, a key id, no duplicate ids", () => {
  for (const bad of ["nokid", "k1:short", `k1:${"A".repeat(43)},k1:${"B".repeat(43)}`, "k 1:abc"]) {
    const found = problems({ ...VALID_ENV, TOKEN_ENCRYPTION_KEY: bad });
    assert(found.some((p) => p.includes("TOKEN_ENCRYPTION_KEY")), bad);
  }
  const rotated = loadConfig({
    ...VALID_ENV,
    TOKEN_ENCRYPTION_KEY: `k2:${KEY_2},${ENCRYPTION_KEY}`,
  });
  assert.deepEqual(rotated.encryption.current.kid, "k2");
  assert.deepEqual(rotated.encryption.keys.map((k) => k.kid), ["k2", "k1"]);
});

Deno.test("loadConfig() accepts Supabase's newer secret keys instead of the service role key", () => {
  const { SUPABASE_SERVICE_ROLE_KEY: _, ...rest } = VALID_ENV;
  const config = loadConfig({ ...rest, SUPABASE_SECRET_KEYS: '{"default":"sb_secret_abc"}' });
  assert.deepEqual(config.adminKey, "sb_secret_abc");
  assert.deepEqual(config.serviceCredentials, ["sb_secret_abc"]);
});

Deno.test("loadConfig() refuses a result page that is not an https URL", () => {
  const found = problems({ ...VALID_ENV, GOOGLE_RESULT_PAGE_URL: "javascript:alert(1)" });
  assert(found.some((p) => p.startsWith("GOOGLE_RESULT_PAGE_URL")));
});

Deno.test("loadConfig() takes exact origins for CORS and refuses a wildcard", () => {
  const config = loadConfig({
    ...VALID_ENV,
    ALLOWED_ORIGINS: "https://a.example, http://localhost:3000",
  });
  assert.deepEqual(config.allowedOrigins, ["https://a.example", "http://localhost:3000"]);
  for (const bad of ["*", "https://a.example/path", "a.example"]) {
    const found = problems({ ...VALID_ENV, ALLOWED_ORIGINS: bad });
    assert(found.some((p) => p.startsWith("ALLOWED_ORIGINS")), bad);
  }
});

Deno.test("loadConfig() takes Auth's issuer and JWKS URL from AUTH_* names `secrets set` accepts", () => {
  const defaults = loadConfig(VALID_ENV);
  assert.deepEqual(defaults.auth.issuer, "https://abc.supabase.co/auth/v1");
  assert.deepEqual(
    defaults.auth.jwksUrl.href,
    "https://abc.supabase.co/auth/v1/.well-known/jwks.json",
  );
  const local = loadConfig({
    ...VALID_ENV,
    AUTH_ISSUER: "http://127.0.0.1:54321/auth/v1",
    AUTH_JWKS_URL: "https://auth.example/jwks.json",
  });
  assert.deepEqual(local.auth.issuer, "http://127.0.0.1:54321/auth/v1");
  assert.deepEqual(local.auth.jwksUrl.href, "https://auth.example/jwks.json");
  const found = problems({
    ...VALID_ENV,
    AUTH_ISSUER: "nope",
    AUTH_JWKS_URL: "http://x.example",
  });
  assert(found.some((p) => p.startsWith("AUTH_ISSUER is not a URL")), found.join("; "));
  assert(found.some((p) => p.startsWith("AUTH_JWKS_URL must be https")), found.join("; "));
});

Deno.test("loadConfig() refuses an all-zero encryption key and a one-character state secret", () => {
  const zero = `k1:${"A".repeat(43)}`; // base64url of 32 zero bytes
  const found = problems({ ...VALID_ENV, TOKEN_ENCRYPTION_KEY: zero });
  assert(found.some((p) => p.includes("TOKEN_ENCRYPTION_KEY") && p.includes("guessable")));
  const repeated = problems({ ...VALID_ENV, OAUTH_STATE_SECRET: "s".repeat(48) });
  assert(repeated.some((p) => p.startsWith("OAUTH_STATE_SECRET looks guessable")), repeated.join());
  const pattern = problems({ ...VALID_ENV, OAUTH_STATE_SECRET: "abcdefghijkl".repeat(4) });
  assert(pattern.some((p) => p.startsWith("OAUTH_STATE_SECRET looks guessable")));
  // The control: the valid environment's keys pass.
  assert.doesNotThrow(() => loadConfig(VALID_ENV));
});

Deno.test("loadConfig() reads BOT_API_KEYS: several keys to rotate, none short, weak or a Supabase key", () => {
  const other = "bot_0a9b8c7d6e5f40312a3b4c5d6e7f8091";
  const config = loadConfig({ ...VALID_ENV, BOT_API_KEYS: ` ${BOT_KEY} , ${other} ` });
  assert.deepEqual(config.botApiKeys, [BOT_KEY, other]);
  assert.deepEqual(loadConfig(VALID_ENV).botApiKeys, [], "optional");
  for (const bad of ["short", "x".repeat(40), "ab".repeat(20), `${BOT_KEY} ${BOT_KEY}`]) {
    const found = problems({ ...VALID_ENV, BOT_API_KEYS: bad });
    assert(found.some((p) => p.startsWith("BOT_API_KEYS")), bad);
  }
  const service = "sr_9f8e7d6c5b4a39281706f5e4d3c2b1a0";
  const same = problems({
    ...VALID_ENV,
    SUPABASE_SERVICE_ROLE_KEY: service,
    BOT_API_KEYS: service,
  });
  assert(same.some((p) => p.includes("must not repeat a Supabase API key")), same.join());
});

Deno.test("loadConfig(): GOOGLE_SCOPES is calendar.events by default, known short names otherwise", () => {
  const auth = "https://www.googleapis.com/auth/";
  assert.deepEqual(loadConfig(VALID_ENV).google.scopes, [
    "openid",
    "email",
    `${auth}calendar.events`,
  ]);
  const wider = loadConfig({
    ...VALID_ENV,
    GOOGLE_SCOPES: "calendar.events, calendar.events.freebusy",
  });
  assert.deepEqual(wider.google.scopes, [
    "openid",
    "email",
    `${auth}calendar.events`,
    `${auth}calendar.events.freebusy`,
  ]);
  assert.ok(
    problems({ ...VALID_ENV, GOOGLE_SCOPES: "gmail.readonly" }).some((p) =>
      p.startsWith("GOOGLE_SCOPES must list")
    ),
  );
  assert.ok(
    problems({ ...VALID_ENV, GOOGLE_SCOPES: "calendar.freebusy" }).some((p) =>
      p.includes("must include calendar.events")
    ),
  );
});

Deno.test("loadConfig() takes Google's RISC document and our client ids as the SET audiences", () => {
  const config = loadConfig({ ...VALID_ENV, GOOGLE_RISC_EXTRA_CLIENT_IDS: " ios-1 , android-2 " });
  assert.equal(
    config.risc.configurationUrl,
    "https://accounts.google.com/.well-known/risc-configuration",
  );
  assert.deepEqual(config.risc.audiences, [VALID_ENV.GOOGLE_CLIENT_ID, "ios-1", "android-2"]);
  const local = loadConfig({ ...VALID_ENV, GOOGLE_OAUTH_BASE_URL: "http://127.0.0.1:9999" });
  assert.equal(
    local.risc.configurationUrl,
    "http://127.0.0.1:9999/.well-known/risc-configuration",
    "an emulator's document moves with GOOGLE_OAUTH_BASE_URL",
  );
  assert.deepEqual(local.risc.audiences, [VALID_ENV.GOOGLE_CLIENT_ID]);
  const found = problems({ ...VALID_ENV, GOOGLE_RISC_EXTRA_CLIENT_IDS: "a b" }).join("\n");
  assert.match(found, /GOOGLE_RISC_EXTRA_CLIENT_IDS/);
});

Deno.test("GOOGLE_PUSH_URL: on by default for a hosted project, off without a public https URL", () => {
  assert.deepEqual(loadConfig(VALID_ENV).push, {
    address: "https://abc.supabase.co/functions/v1/google-calendar-push",
  });
  assert.equal(loadConfig({ ...VALID_ENV, GOOGLE_PUSH_URL: "off" }).push, null);
  const local = {
    ...VALID_ENV,
    SUPABASE_URL: "http://127.0.0.1:54321",
    GOOGLE_REDIRECT_URI: "http://127.0.0.1:54321/functions/v1/google-callback",
  };
  assert.equal(loadConfig(local).push, null);
  assert.deepEqual(
    loadConfig({ ...VALID_ENV, GOOGLE_PUSH_URL: "https://push.example.com/hook/" }).push,
    { address: "https://push.example.com/hook" },
  );
});

Deno.test("GOOGLE_PUSH_URL: plain http only on loopback, and only for an emulator", () => {
  const emulator = {
    ...VALID_ENV,
    GOOGLE_API_BASE_URL: "http://127.0.0.1:9000",
    GOOGLE_PUSH_URL: "http://127.0.0.1:54321/functions/v1/google-calendar-push",
  };
  assert.equal(loadConfig(emulator).push?.address, emulator.GOOGLE_PUSH_URL);
  assert.ok(
    problems({ ...emulator, GOOGLE_API_BASE_URL: undefined }).some((p) =>
      p.startsWith("GOOGLE_PUSH_URL must be https")
    ),
  );
  assert.ok(
    problems({ ...VALID_ENV, GOOGLE_PUSH_URL: "http://push.example.com/hook" }).some((p) =>
      p.startsWith("GOOGLE_PUSH_URL")
    ),
  );
});
