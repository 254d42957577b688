/**
 * The benchmarks' load generator, run as its own process so that its work is not counted inside
 * the processes being measured. Reads a LoadSpec (JSON file), prints one LoadResult (JSON line).
 *
 * A job is a list of HTTP steps run one after another; its latency is the sum. `concurrency`
 * workers take jobs from a shared list: cycling through it (`reuse`) or using each job once
 * (single-use OAuth codes). The first `warmup` jobs or milliseconds are not measured.
 *
 * Usage: deno run --allow-net --allow-read local/bench/load_client.ts <spec.json>
 */

import { percentile, round as roundTo } from "../stats.ts";

export interface Step {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Statuses that count as success (default: any 2xx or 3xx). */
  expect?: number[];
  /** A header that must contain a substring, e.g. ["location", "result=connected"]. */
  expectHeader?: [string, string];
}

export interface LoadSpec {
  jobs: Step[][];
  concurrency: number;
  /** Cycle through `jobs` (true), or use each job once and stop when they run out (false). */
  reuse: boolean;
  warmup: { jobs?: number; ms?: number };
  /** Stop measuring after this many jobs or milliseconds (whichever comes first). */
  measure: { jobs?: number; ms?: number };
}

export interface LoadResult {
  jobs: number;
  errors: number;
  /** First few unexpected answers, for diagnosis. */
  errorSamples: string[];
  elapsedMs: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  /** p50 of each step (by position in the job), for breakdowns. */
  stepP50: number[];
}

async function runStep(step: Step): Promise<{ ok: boolean; status: number; text?: string }> {
  const res = await fetch(step.url, {
    method: step.method ?? "GET",
    ...(step.headers ? { headers: step.headers } : {}),
    ...(step.body !== undefined ? { body: step.body } : {}),
    redirect: "manual",
  });
  const ok = (step.expect ? step.expect.includes(res.status) : res.status < 400) &&
    (!step.expectHeader ||
      (res.headers.get(step.expectHeader[0]) ?? "").includes(step.expectHeader[1]));
  if (ok) {
    await res.arrayBuffer();
    return { ok, status: res.status };
  }
  const where = step.expectHeader
    ? `${step.expectHeader[0]}: ${res.headers.get(step.expectHeader[0])} `
    : "";
  return { ok, status: res.status, text: where + (await res.text()).slice(0, 200) };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  const stepTimes: number[][] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let next = 0;
  let taken = 0;
  let measuring = false;
  let measureStart = 0;
  let measureEnd = 0;
  let stopAt = Infinity;
  const warmupJobs = spec.warmup.jobs ?? 0;
  const warmupMs = spec.warmup.ms ?? 0;
  const maxJobs = spec.measure.jobs ?? Infinity;
  const start = performance.now();

  let measuredTaken = 0;
  const take = (): { job: Step[]; counted: boolean } | undefined => {
    const now = performance.now();
    if (!measuring && taken >= warmupJobs && now - start >= warmupMs) {
      measuring = true;
      measureStart = now;
      if (spec.measure.ms !== undefined) stopAt = now + spec.measure.ms;
    }
    if (measuring && (now >= stopAt || measuredTaken >= maxJobs)) return undefined;
    if (!spec.reuse && next >= spec.jobs.length) return undefined;
    const job = spec.jobs[next % spec.jobs.length]!;
    next++;
    taken++;
    if (measuring) measuredTaken++;
    return { job, counted: measuring };
  };

  const worker = async () => {
    for (;;) {
      const got = take();
      if (!got) return;
      const { job, counted } = got;
      const t0 = performance.now();
      const times: number[] = [];
      let failed = false;
      for (const step of job) {
        const s0 = performance.now();
        const outcome = await runStep(step).catch((e) => ({
          ok: false,
          status: 0,
          text: String(e),
        }));
        times.push(performance.now() - s0);
        if (!outcome.ok) {
          failed = true;
          if (errorSamples.length < 5) {
            errorSamples.push(
              `${step.method ?? "GET"} ${step.url.slice(0, 80)} → ${outcome.status}` +
                ` ${outcome.text ?? ""}`,
            );
          }
          break;
        }
      }
      const t1 = performance.now();
      if (counted) {
        if (failed) errors++;
        else {
          latencies.push(t1 - t0);
          times.forEach((t, i) => (stepTimes[i] ??= []).push(t));
        }
        measureEnd = Math.max(measureEnd, t1);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));

  const elapsedMs = measureEnd - measureStart;
  const sorted = latencies.sort((a, b) => a - b);
  const round = (n: number) => roundTo(n, 3);
  return {
    jobs: sorted.length,
    errors,
    errorSamples,
    elapsedMs: round(elapsedMs),
    rps: round(elapsedMs > 0 ? (sorted.length / elapsedMs) * 1000 : 0),
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
    stepP50: stepTimes.map((t) => round(percentile(t.sort((a, b) => a - b), 50))),
  };
}

if (import.meta.main) {
  const spec = JSON.parse(await Deno.readTextFile(Deno.args[0]!)) as LoadSpec;
  console.log(JSON.stringify(await runLoad(spec)));
}
