/**
 * Push notification channels (events.watch, channels.stop) and their delivery, as Google's push
 * guide describes them: a `sync` message when a channel opens, then `exists` on every change to
 * the watched calendar, each an empty POST carrying the X-Goog-* headers; channels expire
 * (default ttl 604800 s) and stop; 500/502/503/504 answers are retried with exponential backoff.
 * https://developers.google.com/calendar/api/guides/push
 * https://developers.google.com/calendar/api/v3/reference/events/watch
 * https://developers.google.com/calendar/api/v3/reference/channels/stop
 *
 * Google only calls https addresses. For a local stack whose functions listen on plain http,
 * the emulator option `allowHttpLoopbackPush` (CLI `--allow-http-loopback-push`) also accepts
 * http to 127.0.0.1, ::1 or localhost, and nothing else.
 *
 * @module
 */

import type { Calendar, CalendarStore } from "./calendar_store.ts";

/** Google's default `params.ttl` for Calendar channels. */
export const DEFAULT_TTL_SECONDS = 604_800;
/** The emulator's ceiling on a channel's life (Google documents none for Calendar). */
export const MAX_TTL_SECONDS = 30 * 86_400;
/** Documented maximum length of a channel id. */
export const MAX_CHANNEL_ID_LENGTH = 64;
/** Documented maximum length of a channel token. */
export const MAX_CHANNEL_TOKEN_LENGTH = 256;

/** One open channel. */
export interface Channel {
  id: string;
  token: string | undefined;
  address: string;
  resourceId: string;
  resourceUri: string;
  calendarId: string;
  clientId: string;
  expiration: number;
  messageNumber: number;
  stopped: boolean;
  delivered: number;
  failed: number;
  lastStatus: number | null;
}

/** What a watch request asks for, already checked. */
export interface ChannelRequest {
  id: string;
  token: string | undefined;
  address: string;
  ttlSeconds: number | undefined;
  expiration: number | undefined;
  calendar: Calendar;
  /** The calendar id as the request named it (echoed in resourceUri). */
  requestedCalendarId: string;
  clientId: string;
}

/** Options of {@linkcode PushHub}. */
export interface PushHubOptions {
  now: () => number;
  issuer: string;
  allowHttpLoopback: boolean;
  /** First retry delay; doubles per try. Default 1000 ms. */
  retryBaseMs?: number;
  /** Tries per message (first one included). Default 4. */
  attempts?: number;
}

const RETRIED = [500, 502, 503, 504];
const LOOPBACK = ["127.0.0.1", "[::1]", "localhost"];

/** The channels of an emulator and the deliveries in flight. */
export class PushHub {
  readonly channels = new Map<string, Channel>();
  readonly #resourceIds = new Map<string, string>();
  readonly #options: Required<PushHubOptions>;
  readonly #closed = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(store: CalendarStore, options: PushHubOptions) {
    this.#options = { retryBaseMs: 1000, attempts: 4, ...options };
    store.onChange((calendar) => this.#changed(calendar));
  }

  /** Why Google would refuse the address, or undefined when it is acceptable. */
  addressProblem(address: string): string | undefined {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      return "invalid";
    }
    if (url.protocol === "https:") return undefined;
    if (
      url.protocol === "http:" && this.#options.allowHttpLoopback &&
      LOOPBACK.includes(url.hostname)
    ) return undefined;
    return "notHttps";
  }

  /** Opens a channel and sends its `sync` message. */
  open(request: ChannelRequest): Channel {
    const now = this.#options.now();
    const ttl = Math.min(request.ttlSeconds ?? DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS);
    const latest = now + ttl * 1000;
    const channel: Channel = {
      id: request.id,
      token: request.token,
      address: request.address,
      resourceId: this.#resourceId(request.calendar.id),
      resourceUri: `${this.#options.issuer}/calendar/v3/calendars/${
        encodeURIComponent(request.requestedCalendarId)
      }/events?alt=json`,
      calendarId: request.calendar.id,
      clientId: request.clientId,
      expiration: Math.min(request.expiration ?? latest, latest),
      messageNumber: 0,
      stopped: false,
      delivered: 0,
      failed: 0,
      lastStatus: null,
    };
    this.channels.set(channel.id, channel);
    this.#send(channel, "sync");
    return channel;
  }

  /** A live channel with this id (stopped or expired ones are not). */
  live(id: string): Channel | undefined {
    const channel = this.channels.get(id);
    return channel !== undefined && this.#isLive(channel) ? channel : undefined;
  }

  /** Stops a channel: no message is sent on it afterwards. */
  stop(channel: Channel): void {
    channel.stopped = true;
  }

  /** Resolves once every delivery in flight has ended (for tests). */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Aborts deliveries in flight and their retry timers. */
  close(): void {
    this.#closed.abort();
  }

  #isLive(channel: Channel): boolean {
    return !channel.stopped && channel.expiration > this.#options.now();
  }

  #resourceId(calendarId: string): string {
    let id = this.#resourceIds.get(calendarId);
    if (id === undefined) {
      const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
      id = [...crypto.getRandomValues(new Uint8Array(27))].map((b) => alphabet[b % 64]).join("");
      this.#resourceIds.set(calendarId, id);
    }
    return id;
  }

  #changed(calendar: Calendar): void {
    for (const channel of this.channels.values()) {
      if (channel.calendarId === calendar.id && this.#isLive(channel)) {
        this.#send(channel, "exists");
      }
    }
  }

  #send(channel: Channel, state: "sync" | "exists"): void {
    channel.messageNumber += 1;
    const headers: Record<string, string> = {
      "x-goog-channel-id": channel.id,
      "x-goog-channel-expiration": new Date(channel.expiration).toUTCString(),
      "x-goog-message-number": String(channel.messageNumber),
      "x-goog-resource-id": channel.resourceId,
      "x-goog-resource-state": state,
      "x-goog-resource-uri": channel.resourceUri,
      "user-agent": "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)",
    };
    if (channel.token !== undefined) headers["x-goog-channel-token"] = channel.token;
    const delivery = this.#deliver(channel, headers).finally(() => {
      this.#inFlight.delete(delivery);
    });
    this.#inFlight.add(delivery);
  }

  async #deliver(channel: Channel, headers: Record<string, string>): Promise<void> {
    const signal = this.#closed.signal;
    for (let attempt = 1; attempt <= this.#options.attempts; attempt++) {
      if (signal.aborted || (attempt > 1 && channel.stopped)) return;
      let status = 0;
      try {
        const res = await fetch(channel.address, {
          method: "POST",
          headers,
          signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
        });
        await res.body?.cancel();
        status = res.status;
      } catch {
        status = 0;
      }
      channel.lastStatus = status;
      if (status >= 200 && status < 300) {
        channel.delivered += 1;
        return;
      }
      if (!RETRIED.includes(status) && status !== 0) break;
      if (attempt < this.#options.attempts) {
        await sleep(this.#options.retryBaseMs * 2 ** (attempt - 1), signal);
      }
    }
    channel.failed += 1;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Google's channel resource, as events.watch answers it. */
export function channelResource(channel: Channel): Record<string, unknown> {
  const out: Record<string, unknown> = {
    kind: "api#channel",
    id: channel.id,
    resourceId: channel.resourceId,
    resourceUri: channel.resourceUri,
  };
  if (channel.token !== undefined) out.token = channel.token;
  out.expiration = String(channel.expiration);
  return out;
}
