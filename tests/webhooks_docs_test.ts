/**
 * docs/webhooks.md's receivers, run as a bot would run them: the FastAPI one (standard-library
 * verification) with Debian's python3 and uvicorn, the TypeScript one (`standardwebhooks`) with
 * Deno. Each gets real deliveries from the runner, forged ones it must refuse, a duplicate it must
 * handle once, and a reconnect_required it must answer with a new consent link.
 */

import assert from "node:assert/strict";
import { signWebhook } from "../supabase/functions/_google_calendar/webhook_delivery.ts";
import { config } from "./support/flows.ts";
import { createUser, stack } from "./support/stack.ts";
import { queueConnectFailure, runner, waitFor, webhooks } from "./support/webhooks.ts";
import { freePort } from "../local/stack/ports.ts";

const PYTHON = "/usr/bin/python3";
const DIR = ".local/webhooks-doc-check";
const DOC = await Deno.readTextFile("docs/webhooks.md");
const python = DOC.match(/```python\n([\s\S]*?)```/)?.[1];
const typescript = DOC.match(/```ts\n([\s\S]*?)```/)?.[1];
await Deno.mkdir(DIR, { recursive: true });
await Deno.writeTextFile(`${DIR}/bot_webhooks.py`, python ?? "");
await Deno.writeTextFile(`${DIR}/receiver.ts`, typescript ?? "");
await Deno.writeTextFile(
  `${DIR}/serve.ts`,
  'import { handleWebhook } from "./receiver.ts";\n' +
    "Deno.serve({ hostname: '127.0.0.1', port: Number(Deno.args[0]) }, handleWebhook);\n",
);

interface Receiver {
  url: string;
  lines: string[];
  stop(): Promise<void>;
}

/** Starts a receiver process; its stdout lines are collected. */
async function start(kind: "python" | "typescript"): Promise<Receiver> {
  const port = freePort();
  const env = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    BOT_WEBHOOK_SECRET: webhooks.secret,
    SUPABASE_URL: stack.api_url,
    BOT_API_KEY: stack.function_env?.BOT_API_KEYS?.split(",")[0] ?? "",
  };
  const command = kind === "python"
    ? new Deno.Command(PYTHON, {
      args: [
        "-m",
        "uvicorn",
        "--app-dir",
        DIR,
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "bot_webhooks:app",
      ],
      clearEnv: true,
      env,
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${DIR}/serve.ts`, String(port)],
      clearEnv: true,
      env: { ...env, DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno` },
      stdout: "piped",
      stderr: "piped",
    });
  const child = command.spawn();
  const lines: string[] = [];
  const stderr: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>, into: string[]) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      into.push(...chunk.split("\n").filter(Boolean));
    }
  };
  const reading = Promise.all([collect(child.stdout, lines), collect(child.stderr, stderr)]);
  const url = `http://127.0.0.1:${port}/webhooks`;
  await waitFor(`the ${kind} receiver to listen`, async () => {
    try {
      const res = await fetch(url, { method: "GET" });
      await res.body?.cancel();
      return true;
    } catch {
      return undefined;
    }
  }, 30_000).catch((error) => {
    throw new Error(`${error.message}\n${stderr.join("\n")}`);
  });
  return {
    url,
    lines,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await reading;
    },
  };
}

function body(type: string, data: Record<string, unknown>): string {
  return JSON.stringify({ type, timestamp: new Date().toISOString(), data });
}

async function post(url: string, text: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: text,
  });
  await res.body?.cancel();
  return res.status;
}

function linesFor(receiver: Receiver, userId: string): string[] {
  return receiver.lines.filter((l) => l.startsWith(`to ${userId}: `));
}

for (const kind of ["python", "typescript"] as const) {
  Deno.test(`docs/webhooks.md (${kind}): the receiver accepts the runner's deliveries`, async () => {
    assert(kind === "python" ? python : typescript, "the doc has the snippet");
    const receiver = await start(kind);
    try {
      const user = await createUser(`wh-doc-${kind}`);
      await queueConnectFailure(user.id);
      const report = await runner({ userId: user.id, url: receiver.url });
      assert.deepEqual([report.claimed, report.delivered], [1, 1]);
      const [line] = await waitFor("the chat message", () => {
        const found = linesFor(receiver, user.id);
        return Promise.resolve(found.length ? found : undefined);
      });
      assert.match(line!, /keep the calendar box ticked/);
    } finally {
      await receiver.stop();
    }
  });

  Deno.test(`docs/webhooks.md (${kind}): wrong secret, tampered body, old timestamp are refused`, async () => {
    const receiver = await start(kind);
    try {
      const user = crypto.randomUUID();
      const text = body("google_calendar.connected", {
        user_id: user,
        google_email: "ana@gmail.com",
      });
      const good = await signWebhook(webhooks.secret, { id: `msg_${user}`, body: text });
      const otherSecret = "whsec_" + btoa("a different secret, 32 bytes....");
      assert.equal(
        await post(
          receiver.url,
          text,
          await signWebhook(otherSecret, { id: `msg_${user}`, body: text }),
        ),
        400,
      );
      assert.equal(await post(receiver.url, text.replace("ana@", "eve@"), good), 400);
      const old = await signWebhook(webhooks.secret, {
        id: `msg_${user}`,
        body: text,
        at: new Date(Date.now() - 10 * 60_000),
      });
      assert.equal(await post(receiver.url, text, old), 400);
      assert.equal(await post(receiver.url, text, { ...good, "webhook-signature": "" }), 400);
      assert.deepEqual(linesFor(receiver, user), [], "nothing refused was acted on");
      // The same signature is fine: the refusals above were for the faults alone.
      assert.equal(await post(receiver.url, text, good), 204);
    } finally {
      await receiver.stop();
    }
  });

  Deno.test(`docs/webhooks.md (${kind}): "Not you?" once per webhook-id; a new link on reconnect_required`, async () => {
    const receiver = await start(kind);
    try {
      const user = await createUser(`wh-doc-chat-${kind}`);
      const connected = body("google_calendar.connected", {
        user_id: user.id,
        google_email: "ana@gmail.com",
        google_sub: "1",
        scopes: [],
        reconnected: false,
        google_account_linked_to_other_users: false,
      });
      const id = `msg_${crypto.randomUUID().replaceAll("-", "")}`;
      assert.equal(
        await post(
          receiver.url,
          connected,
          await signWebhook(webhooks.secret, { id, body: connected }),
        ),
        204,
      );
      // A retry of the same event: new timestamp and signature, same id.
      assert.equal(
        await post(
          receiver.url,
          connected,
          await signWebhook(webhooks.secret, { id, body: connected }),
        ),
        204,
      );
      const required = body("google_calendar.reconnect_required", {
        user_id: user.id,
        google_email: "ana@gmail.com",
        reason: "google_reconnect_required",
      });
      const requiredId = `msg_${crypto.randomUUID().replaceAll("-", "")}`;
      assert.equal(
        await post(
          receiver.url,
          required,
          await signWebhook(webhooks.secret, { id: requiredId, body: required }),
        ),
        204,
      );
      const lines = await waitFor("both chat messages", () => {
        const found = linesFor(receiver, user.id);
        return Promise.resolve(
          found.some((l) => l.includes("Reconnect here")) &&
            found.some((l) => l.includes("Not you?"))
            ? found
            : undefined,
        );
      });
      assert.equal(
        lines.filter((l) => l.includes("Not you?")).length,
        1,
        "a duplicate is handled once",
      );
      const link = lines.find((l) => l.includes("Reconnect here"))!.split(" ").at(-1)!;
      assert.equal(
        new URL(link).origin,
        new URL(stack.google_emulator_url).origin,
        "a consent link",
      );
      assert.equal(new URL(link).searchParams.get("client_id"), config.google.clientId);
    } finally {
      await receiver.stop();
    }
  });
}

Deno.test("docs/webhooks.md (typescript): the receiver type-checks against standardwebhooks", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", `${DIR}/serve.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
});
