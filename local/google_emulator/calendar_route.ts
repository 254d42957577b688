/** The shape of one Calendar API method, shared by the router and the modules of each collection. */

import type { Calendar } from "./calendar_store.ts";
import type { AccessRecord, EmulatorState } from "./state.ts";

/** Everything a Calendar handler gets. */
export interface CalendarContext {
  state: EmulatorState;
  req: Request;
  query: URLSearchParams;
  record: AccessRecord;
  /** Path parameters: `calendarId`, `eventId`. */
  params: Record<string, string>;
  /** The named calendar, when the path has one and it exists. */
  calendar: Calendar | undefined;
}

/** One Calendar API method. */
export interface CalendarRoute {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path under `/calendar/v3`, with `{name}` segments. */
  path: string;
  /** Google's method name, e.g. `calendar.v3.Events.Insert`. */
  name: string;
  scopes: readonly string[];
  handle(ctx: CalendarContext): Response | Promise<Response>;
}
