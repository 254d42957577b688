/**
 * `npm run bench`: what each function costs, measured side by side with a floor in the same run.
 * Starts a private stack (.local/bench-stack, free ports) that also serves the baseline functions
 * of local/bench/functions, runs the phases of phases/mod.ts (each drives load from separate
 * processes), prints the table and writes .local/bench/results.json and results.md.
 *
 * Never part of `npm test`. Flags (see README.md beside this file):
 *   --quick                 fewer runs and shorter phases, for a smoke check
 *   --only=<phase>,…        only these phases (see phases/mod.ts)
 *   --functions-dir=DIR     a modified copy of supabase/functions for cold and memory
 *   --memory-requests=N     stretch the memory curve
 *   --memory-only=<names>   the memory phase for some functions only
 *   --maintenance-sizes=N,… the row counts the maintenance phase seeds (default 10k,100k,1M)
 * Runs with --only or --functions-dir write results-partial.json and results-partial.md.
 */

import { startStack } from "../stack/stack.ts";
import { DENO } from "../stack/tools.ts";
import { newWebhookSecret } from "../stack/webhook_receiver.ts";
import { TextLineStream } from "./lines.ts";
import { pidOn } from "./nice.ts";
import { type BenchContext, createUsers, elapsedSeconds, log, OUT_DIR } from "./context.ts";
import { connectFully } from "./flows.ts";
import { PHASES } from "./phases/mod.ts";
import { planFor } from "./plan.ts";
import { machineInfo, markdown, resultsJson, type RunInfo, type TableRow } from "./report.ts";

const STACK_DIR = ".local/bench-stack";
const DEFAULT_FUNCTIONS_DIR = "supabase/functions";

const flag = (name: string) =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = Deno.args.includes("--quick");
const only = flag("only")?.split(",");
const unknown = only?.filter((p) => !PHASES.some((phase) => phase.name === p)) ?? [];
if (unknown.length > 0) {
  console.error(
    `--only takes a comma-separated list of ${PHASES.map((p) => p.name).join(", ")} ` +
      `(not ${unknown.join(", ")})`,
  );
  Deno.exit(2);
}
const functionsDir = flag("functions-dir") ?? DEFAULT_FUNCTIONS_DIR;
const memoryRequests = flag("memory-requests");
const plan = planFor(quick, memoryRequests ? Number(memoryRequests) : undefined);
const maintenanceSizes = flag("maintenance-sizes");
if (maintenanceSizes) plan.maintenance.sizes = maintenanceSizes.split(",").map(Number);

await Deno.mkdir(OUT_DIR, { recursive: true });
await Deno.remove(STACK_DIR, { recursive: true }).catch(() => {});
const machine = await machineInfo();
log(`machine: ${machine.nproc} × ${machine.cpu}, Deno ${machine.deno}${quick ? " (quick)" : ""}`);
log(`starting a private stack in ${STACK_DIR}`);
// The webhook receiver in a process of its own, so its CPU priority can be lowered (nice.ts).
const receiverSecret = newWebhookSecret();
const receiver = new Deno.Command(DENO, {
  args: [
    "run",
    "--quiet",
    "--allow-all",
    "local/bench/webhook_receiver_process.ts",
    receiverSecret,
  ],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const receiverUrl = (await receiver.stdout.pipeThrough(new TextDecoderStream())
  .pipeThrough(new TextLineStream()).getReader().read()).value!;
const stack = await startStack({
  dir: STACK_DIR,
  ports: "auto",
  extraFunctionDirs: ["local/bench/functions"],
  functionEnv: { BOT_WEBHOOK_URL: receiverUrl, BOT_WEBHOOK_SECRET: receiverSecret },
});
let exitCode = 0;
try {
  const key = stack.info.service_role_key;
  let connected: Promise<string> | undefined;
  const ctx: BenchContext = {
    stack,
    serviceHeaders: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    restHeaders: { apikey: key, authorization: `Bearer ${key}` },
    plan,
    functionsDir,
    connectedUser: () =>
      connected ??= createUsers(ctx, 1, "bench-token").then(async ([id]) => {
        await connectFully(ctx, id!);
        return id!;
      }),
    usedCallbackUrls: [],
    webhookReceiverUrl: receiverUrl,
    othersPids: () => {
      const emulator = pidOn(stack.info.google_emulator_url);
      return [receiver.pid, ...(emulator ? [emulator] : [])];
    },
  };
  const memoryOnly = flag("memory-only");
  if (memoryOnly) ctx.memoryOnly = memoryOnly.split(",");

  const sections: Record<string, unknown> = {};
  const rows: TableRow[] = [];
  for (const phase of PHASES) {
    if (only && !only.includes(phase.name)) continue;
    log(phase.title);
    const result = await phase.run(ctx);
    sections[phase.key] = result.section;
    rows.push(...result.rows);
  }
  const run: RunInfo = {
    machine,
    quick,
    runs_per_figure: plan.runs,
    finished_at: new Date().toISOString(),
    duration_s: elapsedSeconds(),
    ...(functionsDir !== DEFAULT_FUNCTIONS_DIR ? { functions_dir: functionsDir } : {}),
  };
  const table = markdown(run, rows);
  // Only a whole run with the real functions replaces the results the README quotes.
  const name = only || functionsDir !== DEFAULT_FUNCTIONS_DIR ? "results-partial" : "results";
  await Deno.writeTextFile(`${OUT_DIR}/${name}.json`, resultsJson(run, sections));
  await Deno.writeTextFile(`${OUT_DIR}/${name}.md`, table);
  console.log(table);
  console.log(`Written to ${OUT_DIR}/${name}.json and ${OUT_DIR}/${name}.md`);
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await stack.stop();
  await receiver.stdin.close().catch(() => {});
  await receiver.status;
}
Deno.exit(exitCode);
