import assert from "node:assert/strict";
import { isAppError } from "./errors.ts";
import { createRiscKeySource, maxAgeOf } from "./risc_keys.ts";
import { RISC_ISSUER } from "./risc_facts.ts";

const CONFIG_URL = "https://accounts.example/.well-known/risc-configuration";
const JWKS_URL = "https://keys.example/risc/jwks";

/** A fake Google: the documents it serves, their Cache-Control, and the fetches it saw. */
function fakeGoogle(init: { kids: string[]; cacheControl?: string; issuer?: string }) {
  const served = { kids: init.kids, urls: [] as string[] };
  const fetchImpl = (input: string | URL | Request) => {
    const url = String(input);
    served.urls.push(url);
    const headers: Record<string, string> = init.cacheControl
      ? { "cache-control": init.cacheControl }
      : {};
    if (url === CONFIG_URL) {
      return Promise.resolve(
        Response.json({ issuer: init.issuer ?? RISC_ISSUER, jwks_uri: JWKS_URL }, { headers }),
      );
    }
    if (url === JWKS_URL) {
      const keys = served.kids.map((kid) => ({ kty: "RSA", kid, n: "AQAB", e: "AQAB" }));
      return Promise.resolve(Response.json({ keys }, { headers }));
    }
    return Promise.resolve(new Response("no", { status: 404 }));
  };
  return { served, fetch: fetchImpl as typeof fetch };
}

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

Deno.test("maxAgeOf() reads max-age, honours no-store, caps at a day", () => {
  assert.equal(maxAgeOf("public, max-age=3600"), 3600);
  assert.equal(maxAgeOf("max-age=999999"), 86_400);
  assert.equal(maxAgeOf("no-store"), 0);
  assert.equal(maxAgeOf("public, no-cache, max-age=60"), 0);
  assert.equal(maxAgeOf(null), 300);
  assert.equal(maxAgeOf("max-age=abc"), 300);
});

Deno.test("createRiscKeySource() caches both documents for their max-age", async () => {
  const google = fakeGoogle({ kids: ["a"], cacheControl: "public, max-age=60" });
  const time = clock();
  const source = createRiscKeySource({
    configurationUrl: CONFIG_URL,
    fetch: google.fetch,
    ...time,
  });
  assert.equal((await source.find("a"))?.kid, "a");
  assert.equal((await source.find("a"))?.kid, "a");
  assert.deepEqual(source.fetches(), { configuration: 1, jwks: 1 });
  time.advance(61_000);
  await source.find("a");
  assert.deepEqual(source.fetches(), { configuration: 2, jwks: 2 }, "refetched once stale");
});

Deno.test("createRiscKeySource() refetches the JWKS for an unknown kid (rotation)", async () => {
  const google = fakeGoogle({ kids: ["old"], cacheControl: "max-age=3600" });
  const time = clock();
  const source = createRiscKeySource({
    configurationUrl: CONFIG_URL,
    fetch: google.fetch,
    unknownKidCooldownMs: 10_000,
    ...time,
  });
  await source.find("old");
  google.served.kids = ["new", "old"];
  assert.equal((await source.find("new"))?.kid, "new", "found without waiting for max-age");
  assert.deepEqual(source.fetches(), { configuration: 1, jwks: 2 });
});

Deno.test("createRiscKeySource() refetches for unknown kids at most once per cooldown", async () => {
  const google = fakeGoogle({ kids: ["a"], cacheControl: "max-age=3600" });
  const time = clock();
  const source = createRiscKeySource({
    configurationUrl: CONFIG_URL,
    fetch: google.fetch,
    unknownKidCooldownMs: 10_000,
    ...time,
  });
  for (let i = 0; i < 20; i++) assert.equal(await source.find(`forged-${i}`), undefined);
  assert.equal(source.fetches().jwks, 2, "one load, one refetch");
  time.advance(10_001);
  google.served.kids = ["a", "b"];
  assert.equal((await source.find("b"))?.kid, "b", "after the cooldown a new key is found");
});

Deno.test("createRiscKeySource() refuses a configuration document of another issuer", async () => {
  const google = fakeGoogle({ kids: ["a"], issuer: "https://evil.example/" });
  const source = createRiscKeySource({ configurationUrl: CONFIG_URL, fetch: google.fetch });
  await assert.rejects(source.find("a"), (e: unknown) => isAppError(e, "google_error"));
});

Deno.test("createRiscKeySource() answers google_unavailable when Google fails", async () => {
  const source = createRiscKeySource({
    configurationUrl: CONFIG_URL,
    fetch: (() => Promise.resolve(new Response("", { status: 503 }))) as typeof fetch,
  });
  await assert.rejects(source.find("a"), (e: unknown) => isAppError(e, "google_unavailable"));
});

Deno.test("createRiscKeySource() refuses a plain-http jwks_uri from an https configuration", async () => {
  const fetchImpl = (input: string | URL | Request) =>
    Promise.resolve(
      String(input) === CONFIG_URL
        ? Response.json({ issuer: RISC_ISSUER, jwks_uri: "http://keys.example/risc/jwks" })
        : Response.json({ keys: [{ kty: "RSA", kid: "a", n: "AQAB", e: "AQAB" }] }),
    );
  const source = createRiscKeySource({
    configurationUrl: CONFIG_URL,
    fetch: fetchImpl as typeof fetch,
  });
  await assert.rejects(source.find("a"), (e) => isAppError(e, "google_error"));
  assert.deepEqual(
    source.fetches(),
    { configuration: 1, jwks: 0 },
    "the http keys were not fetched",
  );
});

Deno.test("createRiscKeySource() fetches at most once per cooldown, whatever Cache-Control says", async () => {
  const google = fakeGoogle({ kids: ["a"], cacheControl: "no-store" });
  const time = clock();
  const source = createRiscKeySource({
    configurationUrl: CONFIG_URL,
    fetch: google.fetch,
    unknownKidCooldownMs: 10_000,
    ...time,
  });
  for (let i = 0; i < 20; i++) {
    await source.find(i % 2 === 0 ? "a" : `forged-${i}`);
    time.advance(100);
  }
  assert.ok(source.fetches().jwks <= 2, `a flood made ${source.fetches().jwks} JWKS fetches`);
  assert.ok(source.fetches().configuration <= 2, "nor configuration fetches");
  time.advance(10_001);
  google.served.kids = ["a", "b"];
  assert.equal((await source.find("b"))?.kid, "b", "after the cooldown a new key is found");
});

Deno.test("createRiscKeySource() does not retry a failing Google on every SET", async () => {
  let fetches = 0;
  const time = clock();
  const source = createRiscKeySource({
    configurationUrl: CONFIG_URL,
    fetch: (() => {
      fetches++;
      return Promise.resolve(new Response("", { status: 503 }));
    }) as typeof fetch,
    unknownKidCooldownMs: 10_000,
    ...time,
  });
  for (let i = 0; i < 20; i++) {
    await assert.rejects(source.find(`k${i}`), (e: unknown) => isAppError(e, "google_unavailable"));
    time.advance(100);
  }
  assert.equal(fetches, 1, "one attempt per cooldown");
  time.advance(10_001);
  await assert.rejects(source.find("k"), (e: unknown) => isAppError(e, "google_unavailable"));
  assert.equal(fetches, 2, "tried again after the cooldown");
});
