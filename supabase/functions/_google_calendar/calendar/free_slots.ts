/**
 * Free time, computed: working hours on working days in one time zone (Temporal places each
 * day's hours, DST included), minus busy intervals, keeping the gaps long enough. Pure.
 */

import { Temporal } from "temporal-polyfill";

/** A busy or free interval, in epoch milliseconds, end exclusive. */
export interface Interval {
  start: number;
  end: number;
}

/** What to look for. */
export interface FreeSlotQuery {
  firstDay: Temporal.PlainDate;
  lastDay: Temporal.PlainDate;
  workStart: Temporal.PlainTime;
  workEnd: Temporal.PlainTime;
  /** ISO weekdays, Monday 1 to Sunday 7. */
  workingDays: readonly number[];
  timeZone: string;
  durationMs: number;
  /** Nothing before this instant (now). */
  notBefore: number;
  maxSlots: number;
}

/** Merges overlapping or touching intervals, sorted by start. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out.at(-1);
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else out.push({ ...i });
  }
  return out;
}

/** The working-hour windows of each working day, as instants. */
export function workingWindows(q: FreeSlotQuery): Interval[] {
  const windows: Interval[] = [];
  for (
    let day = q.firstDay;
    Temporal.PlainDate.compare(day, q.lastDay) <= 0;
    day = day.add({ days: 1 })
  ) {
    if (!q.workingDays.includes(day.dayOfWeek)) continue;
    const at = (time: Temporal.PlainTime) =>
      day.toZonedDateTime({ timeZone: q.timeZone, plainTime: time }).epochMilliseconds;
    windows.push({ start: at(q.workStart), end: at(q.workEnd) });
  }
  return windows;
}

/** The free gaps of at least `durationMs` inside the working windows, in order. */
export function freeSlots(q: FreeSlotQuery, busy: readonly Interval[]): Interval[] {
  const merged = mergeIntervals(busy);
  const slots: Interval[] = [];
  for (const window of workingWindows(q)) {
    let cursor = Math.max(window.start, q.notBefore);
    for (const b of merged) {
      if (b.end <= cursor || b.start >= window.end) continue;
      if (b.start - cursor >= q.durationMs) slots.push({ start: cursor, end: b.start });
      cursor = Math.max(cursor, b.end);
      if (slots.length >= q.maxSlots) return slots;
    }
    if (window.end - cursor >= q.durationMs) slots.push({ start: cursor, end: window.end });
    if (slots.length >= q.maxSlots) return slots.slice(0, q.maxSlots);
  }
  return slots;
}
