/**
 * Stopping the local stack leaves nothing behind, however it is stopped: Ctrl-C (SIGINT to the
 * whole process group, as a terminal sends it), SIGTERM to the main process only, a closed
 * terminal (SIGHUP), or a signal while it is still starting. Afterwards no process of the stack
 * runs (by process group, by parent, by pid) and none of its ports is bound.
 */

import assert from "node:assert/strict";
import { type CliStack, footprint, leftovers, startCliStack } from "./support/private_stack.ts";
import { removeStackDir } from "../local/stack/stack.ts";

const DIR = await Deno.makeTempDir({ dir: ".local", prefix: "signals-test-" });

async function stopAndCheck(
  stack: CliStack,
  send: (stack: CliStack) => void,
): Promise<void> {
  const mainPid = stack.info.pid!;
  const before = footprint(stack.pgid, mainPid);
  // Postgres, PostgREST, the emulator and every function, each on its own port, plus the gateway.
  assert(before.pids.length >= 5, `the stack's processes: ${before.pids.join(", ")}`);
  assert(before.ports.length >= 5, `the stack's ports: ${before.ports.join(", ")}`);
  send(stack);
  const code = await stack.exited;
  // npm, when Ctrl-C reached it too, exits 130 itself once the stack has stopped.
  assert(
    code === 0 || (stack.npm && code === 130),
    `a clean exit, not ${code}:\n${stack.output()}`,
  );
  assert(stack.output().includes("stopped."), `the stack stopped itself:\n${stack.output()}`);
  const left = leftovers(before);
  assert.deepEqual(left.processes, [], "no process of the stack is left");
  assert.deepEqual(left.ports, [], "no port of the stack is still bound");
  assert(!stack.output().includes("failed to restart"), stack.output());
}

Deno.test({
  name: "local stack: Ctrl-C to npm start's process group stops every process and frees every port",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await startCliStack({ npm: true, args: ["--dir", DIR] });
    try {
      await stopAndCheck(stack, (s) => Deno.kill(-s.pgid, "SIGINT"));
    } finally {
      await stack.kill();
    }
  },
});

Deno.test({
  name: "local stack: SIGTERM to the main process alone stops every process and frees every port",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await startCliStack({ args: ["--dir", DIR] });
    try {
      await stopAndCheck(stack, (s) => Deno.kill(s.info.pid!, "SIGTERM"));
    } finally {
      await stack.kill();
    }
  },
});

Deno.test({
  name: "local stack: SIGHUP (the terminal closed) stops every process and frees every port",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await startCliStack({ args: ["--dir", DIR] });
    // A closing terminal hangs up its whole foreground process group.
    try {
      await stopAndCheck(stack, (s) => Deno.kill(-s.pgid, "SIGHUP"));
    } finally {
      await stack.kill();
    }
  },
});

Deno.test({
  name: "local stack: a signal while the stack is still starting stops what had started",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    try {
      const child = new Deno.Command("setsid", {
        args: [
          "node_modules/.bin/deno",
          "run",
          "--allow-all",
          "local/stack/main.ts",
          "--dir",
          DIR,
          "--ports",
          "auto",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      // Wait until it is halfway: Postgres is up and the migrations are being applied.
      let text = "";
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      while (!text.includes("applying migrations")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`exited early:\n${text}`);
        text += value;
      }
      const before = footprint(child.pid, child.pid);
      assert(before.pids.length >= 2, "postgres had started");
      Deno.kill(child.pid, "SIGTERM");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      assert.deepEqual((await child.status).code, 0, text);
      assert(text.includes("stopped."), text);
      const left = leftovers(before);
      assert.deepEqual(left.processes, [], "no process of the stack is left");
      assert.deepEqual(left.ports, [], "no port of the stack is still bound");
    } finally {
      await removeStackDir(DIR);
    }
  },
});
