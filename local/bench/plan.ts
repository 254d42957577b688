/** The sizes of every phase: a full run, or a --quick smoke run. A new phase adds its entry. */

/** Sizes for one run of the bench. */
export type Plan = ReturnType<typeof planFor>;

/** The sizes for a full run, or for `--quick`; `memoryRequests` stretches the memory curve. */
export function planFor(quick: boolean, memoryRequests?: number) {
  /** The --quick size, or the full one. */
  const size = <T>(small: T, full: T): T => quick ? small : full;
  return {
    runs: size(1, 3),
    connect: {
      warmupMs: size(300, 500),
      measureMs: size(800, 2500),
      concurrency: [1, 16, 64],
      users: 256,
    },
    callback: {
      1: { warmup: size(5, 10), jobs: size(20, 80) },
      16: { warmup: size(16, 32), jobs: size(64, 240) },
    },
    accessToken: { runs: size(1, 3), calls: size(300, 1000) },
    tools: { calls: size(40, 200) },
    nearExpiry: { runs: size(3, 20), calls: size(20, 50) },
    storm: { runs: size(1, 3), processes: 4, callers: 200, singles: size(3, 10) },
    cold: { runs: size(1, 5) },
    webhooks: {
      callbacks: {
        1: { warmup: size(5, 10), jobs: size(20, 60) },
        16: { warmup: size(16, 32), jobs: size(64, 192) },
      },
      queued: size(1_000, 10_000),
      runnerConcurrency: [16, 64],
    },
    outbox: {
      backlog: size(20_000, 100_000),
      claimRepeats: size(3, 10),
      deletions: size(10, 50),
    },
    memory: { first: 100, total: memoryRequests ?? size(1_000, 10_000), users: 256 },
    push: { renewalSizes: size([10_000, 100_000], [10_000, 1_000_000]), repeats: size(5, 15) },
    // --maintenance-sizes= replaces `sizes` (1M rows take minutes to seed on 2 cores).
    maintenance: {
      sizes: size([1_000, 10_000], [10_000, 100_000, 1_000_000]),
      repeats: size(5, 15),
      keepaliveGrants: size(400, 1_000),
      keepalivePasses: size(2, 5),
      rewrapRows: size(2_000, 6_000),
    },
  };
}
