/**
 * The local stack's stand-in for the bot's webhook endpoint (`npm start` runs it unless the .env
 * names another BOT_WEBHOOK_URL). It verifies each delivery with the `standardwebhooks` package,
 * as a bot would, and prints one line per event:
 *
 *   webhook: google_calendar.connected ana@gmail.com user=… reconnected=false (msg_…)
 *
 * For the tests it keeps what it received (raw headers and body, and what it answered) and can be
 * told to misbehave for one user's events: answer a status (500, 410), or answer late.
 *   GET  /__test/deliveries?user_id=…   → [{ headers, body, answered, received_at }]
 *   POST /__test/faults {user_id, status?, delay_ms?, times?}   (times: how many deliveries)
 */

import { Webhook } from "standardwebhooks";

/** One POST the receiver got, verified or not. */
export interface ReceivedDelivery {
  headers: { "webhook-id": string; "webhook-timestamp": string; "webhook-signature": string };
  body: string;
  /** The status the receiver answered. */
  answered: number;
  verified: boolean;
  user_id: string | null;
  received_at: string;
}

/** An event body, as far as the receiver reads it. */
interface WebhookEvent {
  type?: string;
  data?: Record<string, unknown>;
}

/** How to misbehave for one user's deliveries. */
export interface ReceiverFault {
  status?: number;
  delay_ms?: number;
  /** For this many deliveries; default: until changed. */
  times?: number;
}

/** A running receiver. */
export interface WebhookReceiver {
  url: string;
  secret: string;
  port: number;
  deliveries: ReceivedDelivery[];
  stop(): Promise<void>;
}

/** A fresh Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  const key = crypto.getRandomValues(new Uint8Array(32));
  return "whsec_" + btoa(String.fromCharCode(...key));
}

const KEEP = 50_000;

/** Starts the receiver on 127.0.0.1 (`port` 0: any free one). */
export function startWebhookReceiver(
  options: { secret?: string; port?: number; log?: (line: string) => void; quiet?: boolean } = {},
): WebhookReceiver {
  const secret = options.secret ?? newWebhookSecret();
  const verifier = new Webhook(secret);
  const log = options.log ?? ((line: string) => console.log(line));
  const deliveries: ReceivedDelivery[] = [];
  const faults = new Map<string, ReceiverFault>();

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname === "/__test/deliveries" && req.method === "GET") {
      const user = url.searchParams.get("user_id");
      return Response.json(user ? deliveries.filter((d) => d.user_id === user) : deliveries);
    }
    if (url.pathname === "/__test/faults" && req.method === "POST") {
      const { user_id, ...fault } = await req.json() as ReceiverFault & { user_id: string };
      if (fault.status === undefined && fault.delay_ms === undefined) faults.delete(user_id);
      else faults.set(user_id, fault);
      return new Response(null, { status: 204 });
    }
    if (req.method !== "POST") return new Response("POST only\n", { status: 405 });

    const body = await req.text();
    const headers = {
      "webhook-id": req.headers.get("webhook-id") ?? "",
      "webhook-timestamp": req.headers.get("webhook-timestamp") ?? "",
      "webhook-signature": req.headers.get("webhook-signature") ?? "",
    };
    let event: WebhookEvent | null;
    try {
      event = verifier.verify(body, headers) as WebhookEvent;
    } catch {
      event = null;
    }
    const userId = typeof event?.data?.user_id === "string" ? event.data.user_id : null;
    const fault = userId ? faults.get(userId) : undefined;
    if (fault?.times !== undefined && userId) {
      if (fault.times <= 1) faults.delete(userId);
      else fault.times--;
    }
    if (fault?.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
    const answered = !event ? 400 : fault?.status ?? 204;
    deliveries.push({
      headers,
      body,
      answered,
      verified: event !== null,
      user_id: userId,
      received_at: new Date().toISOString(),
    });
    if (deliveries.length > KEEP) deliveries.splice(0, deliveries.length - KEEP);
    if (!options.quiet) {
      log(
        event
          ? describe(event, headers["webhook-id"], answered)
          : "webhook: rejected a delivery with a bad signature",
      );
    }
    return new Response(null, { status: answered });
  };

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    handler,
  );
  const port = (server.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    secret,
    port,
    deliveries,
    stop: () => server.shutdown(),
  };
}

/** events_changed: the first few events' summaries and statuses, e.g. ` events: Dentist (confirmed)`. */
function changedEvents(events: unknown): string {
  if (!Array.isArray(events)) return "";
  const shown = events.slice(0, 3).map((e: { summary?: unknown; status?: unknown }) =>
    `${typeof e?.summary === "string" ? e.summary : "(no title)"} (${e?.status})`
  );
  const more = events.length > 3 ? ` and ${events.length - 3} more` : "";
  return ` events: ${shown.join(", ")}${more}`;
}

/** The printed line: the type and who, never more than the event itself says. */
function describe(
  event: { type?: string; data?: Record<string, unknown> },
  id: string,
  answered: number,
): string {
  const { user_id, google_email, ...rest } = event.data ?? {};
  const details = Object.entries(rest)
    .filter(([, v]) => typeof v !== "object" || v === null)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ") + changedEvents(rest.events);
  const email = typeof google_email === "string" ? ` ${google_email}` : "";
  const status = answered >= 300 ? ` → answered ${answered}` : "";
  return `webhook: ${event.type}${email} user=${user_id} ${details} (${id})${status}`;
}
