/**
 * A reproducible install: the lockfile records every platform's optional packages that exist (so
 * `npm install` on any platform leaves it as it is), names no registry host, and the tooling
 * installs without writing it. `.ci/run` checks the result: `git status --porcelain` empty after
 * the stack starts and after the tests, on a fresh clone.
 */

import assert from "node:assert/strict";

interface LockEntry {
  version?: string;
  resolved?: string;
  optionalDependencies?: Record<string, string>;
}
const lock = JSON.parse(await Deno.readTextFile("package-lock.json")) as {
  packages: Record<string, LockEntry>;
};

Deno.test("install: the lockfile names no registry host", async () => {
  const text = await Deno.readTextFile("package-lock.json");
  // (Funding links stay: they are the packages' own metadata, not where npm fetched them.)
  assert.ok(!/registry|\.tgz/i.test(text), "no registry URL in package-lock.json");
  const resolved = Object.entries(lock.packages).filter(([, p]) => p.resolved !== undefined);
  assert.deepEqual(resolved.map(([name]) => name), [], "no `resolved` field");
  // Kept so by the committed .npmrc, whatever the user's own npm configuration says.
  assert.match(await Deno.readTextFile(".npmrc"), /^omit-lockfile-registry-resolved=true$/m);
});

Deno.test("install: every platform's binary package of deno and the Supabase CLI is recorded", () => {
  for (const name of ["deno", "supabase"]) {
    const optional = Object.keys(lock.packages[`node_modules/${name}`]?.optionalDependencies ?? {});
    assert.ok(optional.length >= 6, `${name} has its platform packages`);
    for (const dep of optional) {
      assert.ok(lock.packages[`node_modules/${dep}`], `${dep} (optional, of ${name}) is recorded`);
    }
  }
});

Deno.test("install: the tooling installs the locked versions without rewriting the lockfile", async () => {
  const script = await Deno.readTextFile("local/bin/ensure_tools.sh");
  const installs = script.split("\n").filter((l) => /^\s*npm (install|ci)\b/.test(l));
  assert.equal(installs.length, 1, installs.join("\n"));
  assert.match(installs[0]!, /npm install --no-save\b/);
  const ci = await Deno.readTextFile(".ci/run");
  assert.match(ci, /git status --porcelain/);
});
