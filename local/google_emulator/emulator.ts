/**
 * A local emulator of Google's OAuth 2.0 / OpenID Connect web-server flow and a sliver of the
 * Calendar API, for development and tests on machines that cannot reach Google.
 *
 * This module wires the endpoint modules (authorize, token, revoke, discovery, the Calendar API,
 * controls)
 * around one {@linkcode EmulatorState} and routes requests to them.
 *
 * @module
 */

import { AUTH_PATH, authorize, consent, CONSENT_PATH } from "./authorize.ts";
import { configure, controlEndpoint, ControlError, POST_CONTROLS, statsOf } from "./controls.ts";
import { certs, CERTS_PATH, discovery, DISCOVERY_PATH } from "./discovery.ts";
import { CALENDAR_PREFIX, calendarApi, calendarMethodName } from "./calendar_api.ts";
import type { FaultEndpoint } from "./faults.ts";
import { REVOKE_PATH, revokeEndpoint } from "./revoke.ts";
import { seedDemoCalendar } from "./demo_calendar.ts";
import { EmulatorState } from "./state.ts";
import { TOKEN_PATH, tokenEndpoint } from "./token.ts";
import type { GoogleEmulator, GoogleEmulatorOptions } from "./types.ts";

export type { FaultEndpoint, FaultKind, FaultSpec } from "./faults.ts";
export type { EventTime, EventType, SeedEvent } from "./calendar.ts";
export type * from "./types.ts";
export { MAX_REFRESH_TOKENS_PER_CLIENT } from "./state.ts";
export { ControlError } from "./controls.ts";
export { bulkEmail, bulkRefreshToken } from "./bulk.ts";

interface Route {
  method: "GET" | "POST";
  fault?: FaultEndpoint;
  answer(state: EmulatorState, req: Request, query: URLSearchParams): Response | Promise<Response>;
}

const ROUTES: Readonly<Record<string, Route>> = {
  [DISCOVERY_PATH]: { method: "GET", answer: (state) => discovery(state) },
  [CERTS_PATH]: { method: "GET", answer: (state) => certs(state) },
  [AUTH_PATH]: { method: "GET", answer: authorize },
  [CONSENT_PATH]: { method: "POST", answer: (state, req) => consent(state, req) },
  [TOKEN_PATH]: {
    method: "POST",
    fault: "token",
    answer: (state, req) => tokenEndpoint(state, req),
  },
  [REVOKE_PATH]: { method: "POST", fault: "revoke", answer: revokeEndpoint },
};

/** Routes that own every path under a prefix (the Calendar API); they answer 404/405 themselves. */
const PREFIX_ROUTES: readonly {
  prefix: string;
  fault?: FaultEndpoint;
  /** The method name a fault may target. */
  method?(req: Request, path: string): string | undefined;
  answer(
    state: EmulatorState,
    req: Request,
    path: string,
    query: URLSearchParams,
  ): Promise<Response>;
}[] = [{
  prefix: `${CALENDAR_PREFIX}/`,
  fault: "events",
  method: (req, path) => calendarMethodName(req.method, path),
  answer: calendarApi,
}];

/** Answers one request against the state. */
async function route(state: EmulatorState, req: Request): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname.startsWith(state.basePath)
    ? url.pathname.slice(state.basePath.length) || "/"
    : url.pathname;
  if (path.startsWith("/__emulator/")) {
    return await controlEndpoint(state, req, path, url.searchParams);
  }
  const prefixed = PREFIX_ROUTES.find((route) => path.startsWith(route.prefix));
  if (prefixed !== undefined) {
    if (prefixed.fault !== undefined) {
      const faulty = await state.faults.play(
        prefixed.fault,
        req,
        prefixed.method?.(req, path),
      );
      if (faulty !== undefined) {
        state.stats.faultsServed[prefixed.fault] += 1;
        return faulty;
      }
    }
    return await prefixed.answer(state, req, path, url.searchParams);
  }
  const known = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
  if (known === undefined) return Response.json({ error: "not_found" }, { status: 404 });
  if (req.method !== known.method) {
    return new Response(null, { status: 405, headers: { allow: known.method } });
  }
  if (known.fault !== undefined) {
    const faulty = await state.faults.play(known.fault, req);
    if (faulty !== undefined) {
      state.stats.faultsServed[known.fault] += 1;
      return faulty;
    }
  }
  return await known.answer(state, req, url.searchParams);
}

/** Creates an emulator; generates a fresh RS256 signing key. */
export async function createGoogleEmulator(
  options: GoogleEmulatorOptions,
): Promise<GoogleEmulator> {
  const state = await EmulatorState.create(options);
  for (const email of options.demoCalendars ?? []) await seedDemoCalendar(state, email);
  const handler = (req: Request) => route(state, req);
  return {
    issuer: state.issuer,
    handler,
    fetch(input, init) {
      const request = input instanceof Request
        ? input
        : new Request(new URL(input, state.issuer + "/"), init);
      return handler(request);
    },
    revokeAccount: (email) => state.revokeAccount(email),
    addFault: (spec) => state.faults.add(spec),
    clearFaults: () => state.faults.clear(),
    stats: () => statsOf(state),
    resetStats: () => state.resetStats(),
    accountTokens: (email) => state.accountTokens(email),
    configure: (config) => configure(state, config),
    async seedEvents(email, items) {
      try {
        await POST_CONTROLS.events?.(state, { email, items });
      } catch (error) {
        // Kept from before the split: a bad seed is a TypeError for callers of this method.
        if (error instanceof ControlError) throw new TypeError(error.message);
        throw error;
      }
    },
    setClockOffset(offsetMs) {
      state.clockOffsetMs = offsetMs;
    },
    now: () => state.now(),
    jwks: () => structuredClone(state.jwks),
    async control(name, body) {
      const control = Object.hasOwn(POST_CONTROLS, name) ? POST_CONTROLS[name] : undefined;
      if (control === undefined) throw new ControlError(`unknown control ${name}`);
      const answer = await control(state, body);
      if (!(answer instanceof Response)) return answer;
      // A Calendar write refused by the API's rules: Google's status and reason.
      const json = await answer.json();
      if (answer.ok) return json;
      throw new ControlError(`${answer.status} ${json?.error?.errors?.[0]?.reason ?? ""}`.trim());
    },
    close: () => {
      state.faults.close();
      state.push.close();
    },
  };
}
