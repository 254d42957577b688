/**
 * The resilience suite's figures: each resilience test file checks its own figures in its last
 * test, prints them and writes them into `.local/resilience-report.json`. Whichever file records
 * last in a run also prints the closing summary over all of them, so nothing depends on the order
 * in which Deno runs the files.
 */

import assert from "node:assert/strict";
import { checkFunctionLogs, type PrivateStack } from "./private_stack.ts";

export const REPORT_FILE = ".local/resilience-report.json";

/** The suites that write a section: tests/resilience_<suite>_test.ts. */
export const SUITES = ["load", "faults", "hostile", "risc"] as const;

/** One resilience suite's name. */
export type Suite = typeof SUITES[number];

export interface Report {
  sections: Record<string, Section>;
}

export interface Section {
  /** The `deno test` process that wrote it: the summary reads only its own run's sections. */
  pid: number;
  at: string;
  figures: Record<string, unknown>;
}

export async function readReport(): Promise<Report> {
  try {
    const report = JSON.parse(await Deno.readTextFile(REPORT_FILE)) as Report;
    if (report && typeof report.sections === "object") return report;
  } catch {
    // No report yet.
  }
  return { sections: {} };
}

/**
 * Prints `figures`, replaces section `name` of the report file with them, and prints the summary
 * once every suite has recorded in this run.
 */
export async function recordFigures(name: string, figures: Record<string, unknown>): Promise<void> {
  console.log(`\n== resilience figures: ${name} ==`);
  for (const [key, value] of Object.entries(figures)) {
    console.log(`  ${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`);
  }
  await Deno.mkdir(".local", { recursive: true });
  const report = await readReport();
  // Sections of an earlier run are dropped, so the file only ever describes one run.
  for (const [key, section] of Object.entries(report.sections)) {
    if (section.pid !== Deno.pid) delete report.sections[key];
  }
  report.sections[name] = { pid: Deno.pid, at: new Date().toISOString(), figures };
  await Deno.writeTextFile(REPORT_FILE, JSON.stringify(report, null, 2) + "\n");
  if (SUITES.every((suite) => report.sections[suite])) printSummary(report);
}

/**
 * The last test of a resilience file: no value in `seen` (nor any stack secret) appears in any
 * function's output; then, pass or fail, `complete` fills in the figures, they are recorded and
 * the stack is stopped; last, the log check's figure and `check`'s assertions on the figures.
 */
export async function closeSuite(
  suite: Suite,
  privateStack: { get(): Promise<PrivateStack>; stop(): Promise<void> },
  options: {
    seen: Map<string, string>;
    figures: Record<string, unknown>;
    complete?: (figures: Record<string, unknown>) => void;
    check: (figures: Record<string, unknown>) => void;
  },
): Promise<void> {
  const { seen, figures } = options;
  try {
    const s = await privateStack.get();
    const leaks = await checkFunctionLogs(s, seen, figures);
    assert.deepEqual(leaks, [], "values found in function logs");
  } finally {
    options.complete?.(figures);
    await recordFigures(suite, figures);
    await privateStack.stop();
  }
  assert.equal(figures.log_leaks, 0, "secrets in function logs");
  options.check(figures);
}

function printSummary(report: Report): void {
  const figure = (suite: string, key: string) =>
    Number(report.sections[suite]?.figures[key] ?? NaN);
  console.log("\n== resilience summary ==");
  console.log(
    `  flows completed:          ${figure("load", "flows_completed")} of ` +
      `${figure("load", "flows_attempted")}`,
  );
  console.log(
    `  refreshes at Google:      ${figure("load", "refreshes") + figure("faults", "refreshes")}`,
  );
  console.log(
    `  faults injected/survived: ${figure("faults", "faults_injected")} / ` +
      `${figure("faults", "faults_survived")}`,
  );
  console.log(
    `  hostile inputs rejected:  ${figure("hostile", "hostile_rejected")} of ` +
      `${figure("hostile", "hostile_cases")}`,
  );
  console.log(
    `  forged SETs refused:      ${figure("risc", "risc_forged_rejected")} of ` +
      `${figure("risc", "risc_forged_cases")}`,
  );
  console.log(
    `  rows lost:                ${figure("load", "rows_lost") + figure("faults", "rows_lost")}`,
  );
  console.log(
    `  secrets in function logs: ${SUITES.reduce((n, s) => n + figure(s, "log_leaks"), 0)}`,
  );
  console.log(`  (figures: ${REPORT_FILE})`);
}
