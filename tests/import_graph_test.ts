/**
 * The layout tells the architecture, and these checks keep it so: imports run one way
 * (entrypoint → handler → _google_calendar → libraries) with no circles, each function's graph holds only
 * what it uses, and only config.ts reads the environment. Read from `deno info --json`.
 */

import assert from "node:assert/strict";
import { listFunctions } from "../local/stack/functions.ts";
import { DENO } from "../local/stack/tools.ts";

interface ModuleInfo {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier?: string }; isDynamic?: boolean }[];
}

const local = (s: string) => s.startsWith("file://");
const short = (s: string) => s.replace(/^.*\/supabase\/functions\//, "");

/** Each function's imports of npm packages, as written, and whether each is dynamic. */
const packageImports = new Map<string, { from: string; name: string; dynamic: boolean }[]>();

async function graph(entry: string): Promise<Map<string, string[]>> {
  const out = await new Deno.Command(DENO, {
    args: ["info", "--json", "--config", "deno.json", entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: ModuleInfo[] };
  const edges = new Map<string, string[]>();
  const packages: { from: string; name: string; dynamic: boolean }[] = [];
  packageImports.set(entry, packages);
  for (const m of info.modules) {
    for (const d of m.dependencies ?? []) {
      if (local(m.specifier) && !/^[./]/.test(d.specifier) && d.code?.specifier) {
        packages.push({ from: short(m.specifier), name: d.specifier, dynamic: !!d.isDynamic });
      }
    }
    edges.set(
      m.specifier,
      (m.dependencies ?? []).map((d) => d.code?.specifier).filter((s): s is string => !!s),
    );
  }
  return edges;
}

/** A circle among local modules, as a list of modules, or null. */
function findCycle(edges: Map<string, string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, "open");
    stack.push(node);
    for (const next of (edges.get(node) ?? []).filter(local)) {
      if (state.get(next) === "open") return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of [...edges.keys()].filter(local)) {
    if (!state.has(node)) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return null;
}

const functions = listFunctions();
const graphs = new Map<string, Map<string, string[]>>();
for (const name of functions) graphs.set(name, await graph(`supabase/functions/${name}/index.ts`));

Deno.test("import graph: no function's modules import each other in a circle", () => {
  for (const [name, edges] of graphs) {
    const cycle = findCycle(edges);
    assert.equal(cycle, null, `${name}: ${cycle?.map(short).join(" → ")}`);
  }
});

Deno.test("import graph: the front door and its core are only in functions that act on calendars", () => {
  for (const [name, edges] of graphs) {
    const modules = [...edges.keys()].map(short);
    const usesFrontDoor = modules.includes("_google_calendar/mod.ts") ||
      modules.includes("_google_calendar/core.ts");
    // google-callback opens the push channel after a connect, and google-calendar-push syncs:
    // both call Google as the user, as the calendar tools do.
    const expected = [
      "calendar-mcp",
      "calendar-tools",
      "calendar-upcoming",
      "google-maintenance",
      "google-callback",
      "google-calendar-push",
    ].includes(name);
    assert.equal(usesFrontDoor, expected, `${name} imports the front door: ${usesFrontDoor}`);
  }
});

Deno.test("import graph: google-status holds no OAuth client, only what reading a row needs", () => {
  const modules = [...graphs.get("google-status")!.keys()];
  assert.ok(!modules.some((m) => m.includes("oauth4webapi")), "no oauth4webapi");
  assert.ok(!modules.some((m) => m.endsWith("/google_oauth.ts")), "no google_oauth.ts");
  assert.ok(!modules.some((m) => m.endsWith("/access_token.ts")), "no access_token.ts");
});

Deno.test("import graph: standardwebhooks loads on the first delivery, not at boot", () => {
  // A string-literal import() is in the graph (so the deploy bundles it) but costs the boot
  // nothing: the signing runs after the person's answer, and never with webhooks off.
  let seen = 0;
  for (const name of functions) {
    for (const p of packageImports.get(`supabase/functions/${name}/index.ts`)!) {
      if (p.name !== "standardwebhooks") continue;
      seen++;
      assert.equal(p.dynamic, true, `${name}: ${p.from} imports standardwebhooks statically`);
    }
  }
  assert.ok(seen >= 3, `standardwebhooks is in ${seen} graphs (the deliverers)`);
});

Deno.test("import graph: a function's own folder is imported by nothing else", () => {
  for (const [name, edges] of graphs) {
    for (const [from, deps] of edges) {
      if (!local(from)) continue;
      for (const to of deps.filter(local)) {
        const folder = short(to).split("/")[0]!;
        if (folder === "_google_calendar" || !to.includes("/supabase/functions/")) continue;
        assert.equal(folder, name, `${short(from)} imports ${short(to)}`);
      }
    }
  }
});

Deno.test("import graph: only config.ts reads the environment", async () => {
  const readers: string[] = [];
  for (const name of functions) {
    for (const m of graphs.get(name)!.keys()) {
      if (!local(m) || !m.includes("/supabase/functions/")) continue;
      const text = await Deno.readTextFile(new URL(m));
      if (/Deno\.env/.test(text) && !m.endsWith("/_google_calendar/config.ts")) {
        readers.push(short(m));
      }
    }
  }
  assert.deepEqual([...new Set(readers)], []);
});
