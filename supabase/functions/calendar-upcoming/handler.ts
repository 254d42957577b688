/**
 * calendar-upcoming: an example consumer and the template for calendar skills. A thin user of
 * the kit's list_events tool (docs/tools.md): it reads the user's next events page by page
 * until `max_results`, and answers them in its own short shape.
 */

import {
  AppError,
  errorResponse,
  jsonResponse,
  logError,
  readUserRequest,
  runCalendarTool,
} from "../_google_calendar/mod.ts";

/** The methods calendar-upcoming answers. */
export const UPCOMING_METHODS = ["GET", "POST"] as const;

interface ListedEvent {
  id: string;
  summary: string | null;
  all_day: boolean;
  start: string | null;
  end: string | null;
}

/** The calendar-upcoming handler. */
export async function handleUpcoming(req: Request): Promise<Response> {
  try {
    const { userId, params } = await readUserRequest(req, {
      methods: UPCOMING_METHODS,
      params: ["max_results"],
    });
    const max = Number(params.get("max_results") ?? "10");
    if (!Number.isInteger(max) || max < 1 || max > 50) {
      throw new AppError("invalid_request", "max_results must be a whole number from 1 to 50.");
    }
    const events: ListedEvent[] = [];
    // Fixed once: a page token only continues the query that issued it, so every page must ask
    // with the same time_min (Google answers 400 "Invalid page token value." otherwise).
    const timeMin = new Date().toISOString();
    let pageToken: string | undefined;
    do {
      const page = await runCalendarTool(userId, "list_events", {
        time_min: timeMin,
        max_results: max - events.length,
        ...(pageToken ? { page_token: pageToken } : {}),
      }) as { events: ListedEvent[]; next_page_token?: string };
      events.push(...page.events.slice(0, max - events.length));
      pageToken = page.next_page_token;
    } while (pageToken && events.length < max);
    return jsonResponse(200, {
      user_id: userId,
      events: events.map(({ id, summary, all_day, start, end }) => ({
        id,
        summary,
        all_day,
        start,
        end,
      })),
    });
  } catch (error) {
    logError("calendar-upcoming", error);
    return errorResponse(error, UPCOMING_METHODS);
  }
}
