/** Every calendar tool, in the order they are published. Add a tool here and it is everywhere. */

import type { CalendarTool } from "./tool.ts";
import { createEvent } from "./tools/create_event.ts";
import { deleteEvent } from "./tools/delete_event.ts";
import { findFreeSlots } from "./tools/find_free_slots.ts";
import { getCalendarContext } from "./tools/get_calendar_context.ts";
import { getEvent } from "./tools/get_event.ts";
import { listEvents } from "./tools/list_events.ts";
import { respondToEvent } from "./tools/respond_to_event.ts";
import { updateEvent } from "./tools/update_event.ts";

/** The tools, published in this order. */
export const CALENDAR_TOOLS: readonly CalendarTool[] = Object.freeze([
  getCalendarContext,
  listEvents,
  getEvent,
  createEvent,
  updateEvent,
  deleteEvent,
  respondToEvent,
  findFreeSlots,
]);
