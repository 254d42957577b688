/**
 * The resilience suite's closing summary (issue 5). Deno runs test files in alphabetical order,
 * so this one runs after resilience_faults, resilience_hostile and resilience_load: it reads the
 * sections they wrote to .local/resilience-report.json in this run and prints one summary.
 * When none of them ran in this process (a single file run on its own), there is nothing to
 * summarise and the test is ignored.
 */

import { assert, assertEquals } from "./support/assert.ts";
import { readReport, REPORT_FILE } from "./support/resilience_report.ts";

const report = await readReport();
const sections = Object.fromEntries(
  Object.entries(report.sections).filter(([, s]) => s.pid === Deno.pid),
);
const SUITES = ["load", "faults", "hostile"];

Deno.test({
  name:
    "resilience summary: every part ran, every fault survived, every hostile input refused, 0 rows lost",
  ignore: Object.keys(sections).length === 0,
  fn() {
    const figure = (suite: string, key: string) => Number(sections[suite]?.figures[key] ?? NaN);
    const summary = {
      flows_completed: figure("load", "flows_completed"),
      flows_attempted: figure("load", "flows_attempted"),
      refreshes: figure("load", "refreshes") + figure("faults", "refreshes"),
      faults_injected: figure("faults", "faults_injected"),
      faults_survived: figure("faults", "faults_survived"),
      hostile_inputs: figure("hostile", "hostile_cases"),
      hostile_inputs_rejected: figure("hostile", "hostile_rejected"),
      rows_lost: figure("load", "rows_lost") + figure("faults", "rows_lost"),
      log_leaks: SUITES.reduce((n, s) => n + figure(s, "log_leaks"), 0),
    };
    console.log("\n== resilience summary ==");
    console.log(
      `  flows completed:          ${summary.flows_completed} of ${summary.flows_attempted}`,
    );
    console.log(`  refreshes at Google:      ${summary.refreshes}`);
    console.log(
      `  faults injected/survived: ${summary.faults_injected} / ${summary.faults_survived}`,
    );
    console.log(
      `  hostile inputs rejected:  ${summary.hostile_inputs_rejected} of ${summary.hostile_inputs}`,
    );
    console.log(`  rows lost:                ${summary.rows_lost}`);
    console.log(`  secrets in function logs: ${summary.log_leaks}`);
    console.log(`  (figures: ${REPORT_FILE})`);

    assertEquals(
      SUITES.filter((s) => !sections[s]),
      [],
      "resilience files that did not report in this run",
    );
    assertEquals(summary.rows_lost, 0, "rows lost");
    assertEquals(summary.log_leaks, 0, "secrets in function logs");
    assert(summary.flows_completed >= 300, "at least 300 flows");
    assertEquals(summary.flows_completed, summary.flows_attempted, "every flow completed");
    assert(summary.faults_injected > 0, "faults were injected");
    assertEquals(summary.faults_survived, summary.faults_injected, "every fault survived");
    assert(summary.hostile_inputs >= 60, "at least 60 hostile inputs");
    assertEquals(summary.hostile_inputs_rejected, summary.hostile_inputs, "all rejected");
  },
});
