/**
 * The bench's report: the machine it ran on, the table (markdown, as the README quotes it) and
 * results.json (every run and percentile). Phases hand in their rows already worded; this module
 * only lays them out, so a new phase needs no change here.
 */

import { round } from "../stats.ts";

/** One line of the table. */
export interface TableRow {
  figure: string;
  measured: string;
  /** The baseline measured in the same run. */
  baseline: string;
  /** The ratio or difference to the baseline. */
  ratio: string;
  goal: string;
}

/** "met", "**missed**", or nothing for a figure that is only reported. */
export function mark(ok: boolean | null): string {
  return ok === null ? "" : ok ? "met" : "**missed**";
}

/** `n` with its sign. */
export function signed(n: number): string {
  return `${n >= 0 ? "+" : ""}${n}`;
}

/** What the run was measured on. */
export type Machine = Awaited<ReturnType<typeof machineInfo>>;

/** The machine, its load and the tools' versions, read once at the start. */
export async function machineInfo() {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKb = Number(meminfo.match(/MemTotal:\s+(\d+)/)?.[1] ?? 0);
  const pg = await new Deno.Command("psql", { args: ["--version"], stdout: "piped" }).output()
    .then((o) => new TextDecoder().decode(o.stdout).trim()).catch(() => "?");
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: cpuinfo.match(/model name\s*:\s*(.*)/)?.[1]?.trim() ?? "unknown",
    memory_gb: round(memKb / 1024 / 1024, 1),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    psql: pg,
    load_average_at_start: Deno.loadavg().map((n) => round(n, 2)),
  };
}

/** The facts of a run besides the phases' sections. */
export interface RunInfo {
  machine: Machine;
  quick: boolean;
  runs_per_figure: number;
  finished_at: string;
  duration_s: number;
  /** Set when --functions-dir pointed at a modified copy. */
  functions_dir?: string;
}

/** results.json: the run's facts and each phase's section under its key. */
export function resultsJson(run: RunInfo, sections: Record<string, unknown>): string {
  const { finished_at, duration_s, functions_dir, ...head } = run;
  const all = { ...head, ...sections, finished_at, duration_s, functions_dir };
  return JSON.stringify(all, null, 2) + "\n";
}

/** The table as markdown, headed by one sentence on the run. */
export function markdown(run: RunInfo, rows: TableRow[]): string {
  const m = run.machine;
  const lines: string[] = [
    `Run ${run.finished_at} on ${m.nproc} × ${m.cpu}, ${m.memory_gb} GB RAM, ${m.os}, ` +
    `Deno ${m.deno} (load average at start ${m.load_average_at_start.join(" ")}; ` +
    `${run.duration_s} s${run.quick ? "; --quick" : ""}).`,
    "",
    "| figure | measured | baseline, same run | ratio / difference | goal |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    lines.push(`| ${r.figure} | ${r.measured} | ${r.baseline} | ${r.ratio} | ${r.goal} |`);
  }
  return lines.join("\n") + "\n";
}
