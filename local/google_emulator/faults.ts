/** Fault injection for the token, revoke and events endpoints. */

import {
  type CalendarErrorKind,
  calendarErrorResponse,
  INJECTABLE_CALENDAR_ERRORS,
} from "./calendar_errors.ts";

/** Endpoints that accept injected faults. */
export type FaultEndpoint = "token" | "revoke" | "events";

/**
 * How a faulty call fails: a transport-level kind, or (events only) one of the Calendar API's
 * documented errors, with Google's body.
 */
export type FaultKind =
  | "500"
  | "timeout"
  | "garbage"
  | "malformed"
  | "hang"
  | "slow"
  | Exclude<CalendarErrorKind, "required" | "badRequest">;

/** A fault request: the next `count` calls to `endpoint` fail as `kind`. */
export interface FaultSpec {
  endpoint: FaultEndpoint;
  kind: FaultKind;
  /** Defaults to 1. */
  count?: number;
  /** Fails every call until `DELETE /__emulator/faults` (instead of `count` calls). */
  persistent?: boolean;
  /**
   * For "timeout": how long to wait before the 504 (default 30000). For "slow": how long to wait
   * before answering as usual (Google can take its time and still succeed).
   */
  delayMs?: number;
  /** Calendar errors only: send `Retry-After` with this many seconds. */
  retryAfterSeconds?: number;
  /**
   * events endpoint only: fail just this Calendar method, by Google's name (e.g.
   * `calendar.v3.Events.Insert`); other calls pass. Default: every Calendar API call.
   */
  method?: string;
}

interface QueuedFault {
  kind: FaultKind;
  remaining: number;
  persistent: boolean;
  delayMs: number;
  retryAfterSeconds: number | undefined;
  method: string | undefined;
}

const ENDPOINTS: readonly string[] = ["token", "revoke", "events"];
const TRANSPORT_KINDS: readonly string[] = [
  "500",
  "timeout",
  "garbage",
  "malformed",
  "hang",
  "slow",
];
const KINDS: readonly string[] = [...TRANSPORT_KINDS, ...INJECTABLE_CALENDAR_ERRORS];

/** Checks an untrusted fault request, returning an error message or the normalised spec. */
export function parseFaultSpec(value: unknown): FaultSpec | string {
  if (typeof value !== "object" || value === null) return "body must be a JSON object";
  const { endpoint, kind, count, delayMs, persistent, retryAfterSeconds, method } = value as Record<
    string,
    unknown
  >;
  if (typeof endpoint !== "string" || !ENDPOINTS.includes(endpoint)) {
    return `endpoint must be one of ${ENDPOINTS.join(", ")}`;
  }
  if (typeof kind !== "string" || !KINDS.includes(kind)) {
    return `kind must be one of ${KINDS.join(", ")}`;
  }
  if (!TRANSPORT_KINDS.includes(kind) && endpoint !== "events") {
    return `kind ${kind} is a Calendar error: endpoint must be events`;
  }
  const spec: FaultSpec = { endpoint: endpoint as FaultEndpoint, kind: kind as FaultKind };
  if (method !== undefined) {
    if (
      endpoint !== "events" || typeof method !== "string" ||
      !/^calendar\.v3\.\w+\.\w+$/.test(method)
    ) {
      return "method must name a Calendar method (calendar.v3.Events.Insert) on the events endpoint";
    }
    spec.method = method;
  }
  if (persistent !== undefined) {
    if (typeof persistent !== "boolean") return "persistent must be a boolean";
    if (persistent && count !== undefined) return "give count or persistent, not both";
    spec.persistent = persistent;
  }
  if (retryAfterSeconds !== undefined) {
    if (
      typeof retryAfterSeconds !== "number" || !Number.isInteger(retryAfterSeconds) ||
      retryAfterSeconds < 0
    ) {
      return "retryAfterSeconds must be an integer >= 0";
    }
    spec.retryAfterSeconds = retryAfterSeconds;
  }
  if (count !== undefined) {
    if (typeof count !== "number" || !Number.isInteger(count) || count < 1) {
      return "count must be a positive integer";
    }
    spec.count = count;
  }
  if (delayMs !== undefined) {
    if (typeof delayMs !== "number" || !(delayMs >= 0)) return "delayMs must be >= 0";
    spec.delayMs = delayMs;
  }
  return spec;
}

/** Holds pending faults per endpoint and plays them, without leaking timers. */
export class FaultInjector {
  #queues = new Map<FaultEndpoint, QueuedFault[]>();
  #closed = new AbortController();

  /** Queues a fault behind any already pending for the same endpoint. */
  add(spec: FaultSpec): void {
    const queue = this.#queues.get(spec.endpoint) ?? [];
    queue.push({
      kind: spec.kind,
      remaining: spec.count ?? 1,
      persistent: spec.persistent ?? false,
      delayMs: spec.delayMs ?? 30_000,
      retryAfterSeconds: spec.retryAfterSeconds,
      method: spec.method,
    });
    this.#queues.set(spec.endpoint, queue);
  }

  /** Drops every pending fault. */
  clear(): void {
    this.#queues.clear();
  }

  /** Pending faults, for the stats view. */
  pending(): Record<FaultEndpoint, number> {
    const count = (endpoint: FaultEndpoint) =>
      (this.#queues.get(endpoint) ?? []).reduce(
        (sum, fault) => sum + (fault.persistent ? 1 : fault.remaining),
        0,
      );
    return { token: count("token"), revoke: count("revoke"), events: count("events") };
  }

  /**
   * Consumes one fault for the endpoint and plays it; undefined when the call should succeed.
   * The request is only touched when a fault is due, since reading `Deno.serve`'s
   * `request.signal` has side effects.
   */
  async play(
    endpoint: FaultEndpoint,
    req: Request,
    method?: string,
  ): Promise<Response | undefined> {
    const queue = this.#queues.get(endpoint);
    // The first fault aimed at this call: one without a method, or naming this method.
    const index = queue?.findIndex((f) => f.method === undefined || f.method === method) ?? -1;
    const fault = queue?.[index];
    if (queue === undefined || fault === undefined) return undefined;
    if (!fault.persistent) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) queue.splice(index, 1);
    }
    switch (fault.kind) {
      case "500":
        return serverError(endpoint);
      case "garbage":
        // Claims JSON so clients reach their parse step and must cope with its failure.
        return new Response("<html><body>502 Bad Gateway</body></html>", {
          status: 200,
          headers: { "content-type": "application/json; charset=utf-8" },
        });
      case "malformed":
        return Response.json(malformedBody(endpoint));
      case "timeout":
        await this.#wait(fault.delayMs, req.signal);
        return new Response("504 Gateway Timeout", { status: 504 });
      case "slow":
        await this.#wait(fault.delayMs, req.signal);
        // Then answered as usual, by the endpoint itself.
        return undefined;
      case "hang":
        await this.#wait(undefined, req.signal);
        // Only reached once the client gave up or the emulator closed; nobody reads this.
        return new Response("request abandoned", { status: 504 });
      default: {
        const options = fault.retryAfterSeconds === undefined
          ? {}
          : { retryAfterSeconds: fault.retryAfterSeconds };
        return calendarErrorResponse(fault.kind, options);
      }
    }
  }

  /** Releases every waiting call; later waits end at once. */
  close(): void {
    this.#closed.abort();
  }

  #wait(delayMs: number | undefined, signal: AbortSignal): Promise<void> {
    const closed = this.#closed.signal;
    if (signal.aborted || closed.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = delayMs === undefined ? undefined : setTimeout(done, delayMs);
      signal.addEventListener("abort", done);
      closed.addEventListener("abort", done);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        closed.removeEventListener("abort", done);
        resolve();
      }
    });
  }
}

function serverError(endpoint: FaultEndpoint): Response {
  if (endpoint === "events") {
    // The Calendar errors guide's 500: legacy errors[] plus the status of the JSON error format.
    return Response.json({
      error: {
        code: 500,
        message: "Backend Error",
        errors: [{ domain: "global", reason: "backendError", message: "Backend Error" }],
        status: "INTERNAL",
      },
    }, { status: 500 });
  }
  return Response.json({ error: "internal_failure", error_description: "Backend Error" }, {
    status: 500,
  });
}

function malformedBody(endpoint: FaultEndpoint): unknown {
  switch (endpoint) {
    case "token":
      return { token_type: "Bearer", expires_in: 3599 };
    case "revoke":
      return "ok";
    case "events":
      return { kind: "calendar#events" };
  }
}
