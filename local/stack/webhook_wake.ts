/**
 * The local stand-in for pg_net's part in waking webhook delivery. In production the
 * `google_calendar_webhook_wake` trigger POSTs `google-webhooks` through pg_net (as Supabase's
 * Database Webhooks do) when an event is written outside the functions: a user deleted from
 * auth.users by SQL, the dashboard or the Auth admin API. The local database has no pg_net, so
 * the same trigger also sends `pg_notify('google_calendar_webhooks')`, which this module LISTENs
 * to and answers with the same POST. Every stack runs it (`npm start`, the tests, the bench), as
 * every project with pg_net and the Vault secrets has the trigger's POST.
 *
 * The listener is one long-lived psql: psql prints notifications when it runs a command, so it is
 * sent a trivial one every POLL_MS. One POST at a time; wake-ups that arrive during a POST are
 * answered by one more POST after it.
 */

/** How often psql is asked to look for notifications, in ms. */
const POLL_MS = 200;

/** The channel the trigger notifies (see the migration 20261206001000). */
export const WAKE_CHANNEL = "google_calendar_webhooks";

/** A running listener. */
export interface WebhookWake {
  /** POSTs made so far (tests and the status line). */
  readonly wakes: number;
  stop(): Promise<void>;
}

/** Starts listening on `dbUrl` and POSTing `${functionsUrl}/google-webhooks` on each wake-up. */
export function startWebhookWake(
  target: { dbUrl: string; functionsUrl: string; serviceKey: string },
  options: { log?: (line: string) => void; fetch?: typeof fetch } = {},
): WebhookWake {
  const log = options.log ?? (() => {});
  const doFetch = options.fetch ?? fetch;
  const url = `${target.functionsUrl}/google-webhooks`;
  const child = new Deno.Command("psql", {
    args: [target.dbUrl, "-X", "-q", "-At"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  let stopped = false;
  let wakes = 0;
  let running: Promise<void> | null = null;
  let again = false;

  const send = (line: string) => writer.write(encoder.encode(line + "\n")).catch(() => {});
  void send(`LISTEN ${WAKE_CHANNEL};`);
  const ticker = setInterval(() => void send("select 1;"), POLL_MS);

  async function post(): Promise<void> {
    wakes++;
    try {
      const res = await doFetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${target.serviceKey}`,
          "content-type": "application/json",
        },
        body: "{}",
        signal: AbortSignal.timeout(60_000),
      });
      await res.body?.cancel();
      if (!res.ok) log(`webhook wake: google-webhooks answered ${res.status}`);
    } catch (error) {
      if (!stopped) log(`webhook wake: google-webhooks not reached (${(error as Error).name})`);
    }
  }

  function wake(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await post();
      } while (again && !stopped);
      running = null;
    })();
  }

  const reading = (async () => {
    const lines = child.stdout.pipeThrough(new TextDecoderStream());
    let buffer = "";
    for await (const chunk of lines) {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop() ?? "";
      // psql: `Asynchronous notification "google_calendar_webhooks" received from server …`
      if (parts.some((line) => line.includes(`"${WAKE_CHANNEL}"`))) wake();
    }
  })().catch(() => {});

  return {
    get wakes() {
      return wakes;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      await writer.close().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await child.status.catch(() => {});
      await reading;
      await running;
    },
  };
}
