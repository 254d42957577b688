/**
 * The resilience suite's figures: each file prints its section and writes it into
 * `.local/resilience-report.json`; tests/resilience_zz_summary_test.ts (the last file to run)
 * reads the sections of this run and prints the closing summary.
 */

export const REPORT_FILE = ".local/resilience-report.json";

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

/** Prints `figures` and replaces section `name` of the report file with them. */
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
}

/** Latency figures in whole milliseconds. */
export function percentiles(samples: number[]): { p50: number; p95: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { p50: at(0.5), p95: at(0.95), max: Math.round(sorted[sorted.length - 1] ?? 0) };
}
