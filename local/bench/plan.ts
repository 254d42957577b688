/** The sizes of every phase: a full run, or a --quick smoke run. A new phase adds its entry. */

/** Sizes for one run of the bench. */
export type Plan = ReturnType<typeof planFor>;

/** The sizes for a full run, or for `--quick`; `memoryRequests` stretches the memory curve. */
export function planFor(quick: boolean, memoryRequests?: number) {
  return quick
    ? {
      runs: 1,
      connect: { warmupMs: 300, measureMs: 800, concurrency: [1, 16, 64], users: 256 },
      callback: { 1: { warmup: 5, jobs: 20 }, 16: { warmup: 16, jobs: 64 } },
      accessToken: { runs: 1, calls: 300 },
      storm: { runs: 1, processes: 4, callers: 200 },
      cold: { runs: 1 },
      memory: { first: 100, total: memoryRequests ?? 1_000, users: 256 },
    }
    : {
      runs: 3,
      connect: { warmupMs: 500, measureMs: 2500, concurrency: [1, 16, 64], users: 256 },
      callback: { 1: { warmup: 10, jobs: 80 }, 16: { warmup: 32, jobs: 240 } },
      accessToken: { runs: 3, calls: 1000 },
      storm: { runs: 3, processes: 4, callers: 200 },
      cold: { runs: 5 },
      memory: { first: 100, total: memoryRequests ?? 10_000, users: 256 },
    };
}
