/**
 * The emulator's calendars: one primary calendar per account (its id is the account's email),
 * holding events with the server-managed fields Google keeps (etag, created, updated, sequence,
 * iCalUID) and a change counter per calendar, from which sync tokens and push notifications
 * derive. Deleted events stay as `cancelled`: Google keeps them, refuses their ids on insert
 * (409) and answers a second delete with 410.
 * https://developers.google.com/calendar/api/v3/reference/events
 *
 * @module
 */

/** An event's `status`. */
export type EventStatus = "confirmed" | "tentative" | "cancelled";

/** An event as stored. `fields` holds what clients write, as Google echoes it back. */
export interface StoredEvent {
  id: string;
  status: EventStatus;
  /** summary, description, location, start, end, recurrence, attendees, reminders, … */
  fields: Record<string, unknown>;
  /** Instant of `start` (all-day: midnight in the calendar's zone when written). */
  startMs: number;
  endMs: number;
  allDay: boolean;
  created: number;
  updated: number;
  sequence: number;
  etag: string;
  iCalUID: string;
  /** The calendar's change counter at this event's last write. */
  changeSeq: number;
  /** An exception of a recurring series: the series id and the occurrence it replaces. */
  recurringEventId?: string;
  originalStartMs?: number;
  /** Who wrote it last: "api" through the Calendar API, "control" through a test control. */
  origin: "api" | "control";
}

/** One calendar. */
export interface Calendar {
  id: string;
  owner: string;
  summary: string;
  timeZone: string;
  events: Map<string, StoredEvent>;
  /** Bumped on every write; the sync token of a list is the value it saw. */
  changeSeq: number;
  /** Sync tokens from an earlier epoch answer 410 (the invalidation control bumps it). */
  syncEpoch: number;
}

/** Called after every write, for push channels. */
export type ChangeListener = (calendar: Calendar, event: StoredEvent) => void;

/** Default time zone of a new calendar, as for an account created without a locale. */
export const DEFAULT_TIME_ZONE = "UTC";

/** The calendars of every account. */
export class CalendarStore {
  readonly #calendars = new Map<string, Calendar>();
  readonly #listeners: ChangeListener[] = [];
  readonly #now: () => number;
  #etagCounter = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The account's primary calendar, created empty on first use. */
  primary(email: string): Calendar {
    const known = this.#calendars.get(email);
    if (known !== undefined) return known;
    const calendar: Calendar = {
      id: email,
      owner: email,
      summary: email,
      timeZone: DEFAULT_TIME_ZONE,
      events: new Map(),
      changeSeq: 0,
      syncEpoch: 0,
    };
    this.#calendars.set(email, calendar);
    return calendar;
  }

  /**
   * The calendar a request names for `email`: `primary` or the account's own address. Other
   * calendars are not modelled (undefined → 404 notFound).
   */
  resolve(email: string, calendarId: string): Calendar | undefined {
    return calendarId === "primary" || calendarId.toLowerCase() === email
      ? this.primary(email)
      : undefined;
  }

  /** Every calendar (for clearing and tests). */
  all(): IterableIterator<Calendar> {
    return this.#calendars.values();
  }

  /** Forgets one account's calendar, or every calendar. */
  clear(email?: string): void {
    if (email === undefined) this.#calendars.clear();
    else this.#calendars.delete(email);
  }

  /** Registers a change listener. */
  onChange(listener: ChangeListener): void {
    this.#listeners.push(listener);
  }

  /** The emulator's clock. */
  now(): number {
    return this.#now();
  }

  /**
   * Stores a written event: stamps `updated`, a fresh etag and the change counter, then tells
   * the listeners. The caller has set the fields, status and sequence.
   */
  commit(calendar: Calendar, event: StoredEvent): StoredEvent {
    calendar.changeSeq += 1;
    event.changeSeq = calendar.changeSeq;
    // Strictly increasing even within one millisecond, so every write gets a new etag.
    const now = Math.max(this.#now(), event.updated + 1);
    event.updated = now;
    this.#etagCounter = (this.#etagCounter + 1) % 1000;
    event.etag = `"${now * 1000 + this.#etagCounter}"`;
    calendar.events.set(event.id, event);
    for (const listener of this.#listeners) listener(calendar, event);
    return event;
  }

  /** A blank event record for `id`, not yet stored. */
  blank(id: string, origin: StoredEvent["origin"]): StoredEvent {
    const now = this.#now();
    return {
      id,
      status: "confirmed",
      fields: {},
      startMs: 0,
      endMs: 0,
      allDay: false,
      created: now,
      updated: now - 1,
      sequence: 0,
      etag: "",
      iCalUID: `${id}@google.com`,
      changeSeq: 0,
      origin,
    };
  }
}

/** A new event id: 26 base32hex characters, like Google's server-made ids. */
export function newEventId(): string {
  const alphabet = "0123456789abcdefghijklmnopqrstuv";
  const bytes = crypto.getRandomValues(new Uint8Array(26));
  return [...bytes].map((byte) => alphabet[byte % 32]).join("");
}

/**
 * Google's rule for client-supplied ids: base32hex characters (a-v, 0-9), 5 to 1024 of them.
 * https://developers.google.com/calendar/api/v3/reference/events/insert (id)
 */
export function isValidEventId(id: string): boolean {
  return /^[a-v0-9]{5,1024}$/.test(id);
}
