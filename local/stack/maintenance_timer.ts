/**
 * The local stand-in for Supabase Cron + pg_net: POSTs google-maintenance with the service key
 * every `intervalSeconds`, as the production schedule does (docs/maintenance.md). One pass at a
 * time: a tick that finds the previous pass still running is skipped. `npm start` runs it; tests
 * and the bench do not, unless they start one themselves.
 */

/**
 * The default interval of `npm start`'s timer, in seconds (MAINTENANCE_INTERVAL_SECONDS): the
 * production cron job's `*\/5 * * * *` (docs/database.md).
 */
export const DEFAULT_MAINTENANCE_INTERVAL_SECONDS = 300;

/** What the timer reports about one pass. */
export interface TimerTick {
  status: number | null;
  /** The pass's report, or null when the function did not answer with one. */
  report: Record<string, unknown> | null;
  error: string | null;
}

/** A running timer. */
export interface MaintenanceTimer {
  readonly intervalSeconds: number;
  /** Passes started so far. */
  readonly passes: number;
  /** Runs one pass now (waits for a running one first); what `tick` logs. */
  runNow(): Promise<TimerTick>;
  /** Stops the timer and waits for a running pass. */
  stop(): Promise<void>;
}

/**
 * Starts the timer against the stack at `functionsUrl`. `log` gets one line per pass that did
 * something or failed (quiet passes say nothing, so the terminal stays readable).
 */
export function startMaintenanceTimer(
  target: { functionsUrl: string; serviceKey: string },
  options: { intervalSeconds: number; log?: (line: string) => void; fetch?: typeof fetch },
): MaintenanceTimer {
  const log = options.log ?? (() => {});
  const doFetch = options.fetch ?? fetch;
  const url = `${target.functionsUrl}/google-maintenance`;
  let running: Promise<TimerTick> | null = null;
  let passes = 0;
  let stopped = false;

  async function pass(): Promise<TimerTick> {
    passes++;
    try {
      const res = await doFetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${target.serviceKey}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ scheduled_by: "local timer" }),
        signal: AbortSignal.timeout(120_000),
      });
      const text = await res.text();
      let report: Record<string, unknown> | null = null;
      try {
        report = JSON.parse(text);
      } catch {
        // Not a report (the function did not answer): said below.
      }
      const tick = { status: res.status, report, error: null };
      const line = describeTick(tick);
      if (line) log(line);
      return tick;
    } catch (error) {
      const tick = {
        status: null,
        report: null,
        error: error instanceof Error ? error.name : String(error),
      };
      log(`maintenance pass failed: ${tick.error}`);
      return tick;
    }
  }

  const runNow = async (): Promise<TimerTick> => {
    while (running) await running.catch(() => {});
    const current = pass();
    running = current;
    try {
      return await current;
    } finally {
      running = null;
    }
  };

  const timer = setInterval(() => {
    if (running || stopped) return; // the previous pass is still going: skip this tick
    runNow().catch(() => {});
  }, options.intervalSeconds * 1000);

  return {
    intervalSeconds: options.intervalSeconds,
    get passes() {
      return passes;
    },
    runNow,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}

/** One line about a pass that did something or failed; null for a quiet, successful one. */
export function describeTick(tick: TimerTick): string | null {
  if (tick.error) return `maintenance pass failed: ${tick.error}`;
  const report = tick.report as
    | {
      ok?: boolean;
      duration_ms?: number;
      google_calls?: { used?: number };
      tasks?: Record<string, Record<string, unknown>>;
      errors?: { task: string; code: string }[];
    }
    | null;
  if (!report?.tasks) return `maintenance pass answered ${tick.status} without a report`;
  const parts: string[] = [];
  for (const [task, counts] of Object.entries(report.tasks)) {
    for (const [name, value] of Object.entries(counts ?? {})) {
      if (typeof value === "number" && value > 0) parts.push(`${task}.${name} ${value}`);
    }
  }
  const errors = (report.errors ?? []).map((e) => `${e.task}: ${e.code}`);
  if (parts.length === 0 && errors.length === 0) return null;
  return `maintenance pass (${report.duration_ms} ms, ${report.google_calls?.used ?? 0} Google ` +
    `calls): ${[...parts, ...errors].join(", ")}`;
}
