/**
 * The local stack's ports: a taken fixed port is named with its process and `--ports auto` is
 * suggested; a service whose port another process holds is not mistaken for ready; and several
 * `--ports auto` stacks started at the same moment all come up, each on ports of its own.
 */

import assert from "node:assert/strict";
import { startCliStack } from "./support/private_stack.ts";
import { functionCommand } from "../local/stack/functions.ts";
import { freePort, onPort, PortInUseError } from "../local/stack/ports.ts";
import { spawnLogged, waitListening } from "../local/stack/process.ts";
import { FIXED_PORTS, removeStackDir } from "../local/stack/stack.ts";
import { DENO } from "../local/stack/tools.ts";

Deno.test("local stack: a taken port is named, with its process, and --ports auto is suggested", async () => {
  const dir = await Deno.makeTempDir({ dir: ".local", prefix: "taken-port-test-" });
  let held: Deno.Listener | null = null;
  try {
    try {
      held = Deno.listen({ hostname: "127.0.0.1", port: FIXED_PORTS.api });
    } catch {
      // Already taken by something else (a stack on fixed ports): the same message is expected.
    }
    const out = await new Deno.Command(DENO, {
      args: ["run", "--allow-all", "local/stack/main.ts", "--dir", dir],
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.deepEqual(out.code, 1, stderr);
    assert(stderr.includes(`port ${FIXED_PORTS.api} (API gateway) is already in use`), stderr);
    if (held) assert(stderr.includes(`by pid ${Deno.pid} (`), `names this process:\n${stderr}`);
    assert(stderr.includes("--ports auto"), stderr);
    const pids = await Deno.stat(`${dir}/pids.json`).then(() => true, () => false);
    assert(!pids, "nothing was started");
  } finally {
    held?.close();
    await removeStackDir(dir);
  }
});

Deno.test("local stack: a function whose port another process holds is not taken for ready", async () => {
  const dir = await Deno.makeTempDir({ dir: ".local", prefix: "held-port-test-" });
  const held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (held.addr as Deno.NetAddr).port;
  try {
    // Connecting to the port succeeds (we listen there): the old readiness check said "ready".
    await Deno.writeTextFile(`${dir}/index.ts`, `Deno.serve(() => new Response("ok"));\n`);
    const proc = await spawnLogged("hello", DENO, {
      ...functionCommand(`${dir}/index.ts`, port, {}),
      logFile: `${dir}/function.log`,
    });
    let error: unknown = null;
    await waitListening(proc, port, { role: "function hello" }).catch((e) => error = e);
    await proc.stop();
    assert(error instanceof PortInUseError, `a PortInUseError, not ${error}`);
    assert.deepEqual(error.port, port);
  } finally {
    held.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("local stack: onPort tries a new port when the one it picked is taken", async () => {
  const tried: number[] = [];
  const port = await onPort("test", null, (p) => {
    tried.push(p);
    if (tried.length < 3) return Promise.reject(new PortInUseError(p, "test", null));
    return Promise.resolve(p);
  });
  assert.deepEqual(tried.length, 3);
  assert.deepEqual(new Set(tried).size, 3, "three different ports");
  assert.deepEqual(port, tried[2]);
});

Deno.test("local stack: freePort never hands out the same port twice in one process", () => {
  // The kernel gives a released port out again: about one stack start in two hundred picked
  // two equal ports among its ten, and one of its services then failed with EADDRINUSE.
  const ports = Array.from({ length: 2000 }, () => freePort());
  assert.deepEqual(new Set(ports).size, ports.length);
});

Deno.test({
  name: "local stack: three --ports auto stacks started at once all come up on ports of their own",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dirs = await Promise.all(
      [1, 2, 3].map(() => Deno.makeTempDir({ dir: ".local", prefix: "parallel-test-" })),
    );
    const started = await Promise.allSettled(
      dirs.map((dir) => startCliStack({ args: ["--dir", dir] })),
    );
    try {
      for (const s of started) assert(s.status === "fulfilled", `came up: ${String(s)}`);
      const stacks = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
      const ports = stacks.flatMap((s) => [
        new URL(s.info.api_url).port,
        new URL(s.info.db_url).port,
        new URL(s.info.google_emulator_url).port,
        ...Object.values(s.info.functions).map((f) => String(f.port)),
      ]);
      assert.deepEqual(new Set(ports).size, ports.length, "no port is shared");
      for (const s of stacks) {
        // Each gateway reaches its own function: google-status refuses a missing key with 401.
        const res = await fetch(`${s.info.functions_url}/google-status`, { method: "POST" });
        await res.body?.cancel();
        assert.deepEqual(res.status, 401, `${s.info.api_url} serves its functions`);
      }
    } finally {
      for (const s of started) {
        if (s.status !== "fulfilled") continue;
        Deno.kill(s.value.info.pid!, "SIGTERM");
        await s.value.exited;
      }
      for (const dir of dirs) await removeStackDir(dir);
    }
  },
});
