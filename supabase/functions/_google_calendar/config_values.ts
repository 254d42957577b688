/**
 * The plain configuration values: URLs, origins, scopes, client ids, whole numbers and the push
 * address, each parsed from its text with every problem pushed onto the caller's list. Pure;
 * loadConfig (config.ts) is the only reader of the environment.
 */

import {
  GOOGLE_DEFAULTS,
  hasCalendarScope,
  KNOWN_CALENDAR_SCOPES,
  REQUESTED_SCOPES,
} from "./google_facts.ts";

/** The push function's name: its public address ends with it. */
export const PUSH_FUNCTION = "google-calendar-push";

/** Absolute URL without a trailing slash; http only on loopback (local stack, emulator). */
export function checkUrl(name: string, value: string, problems: string[]): string {
  if (!value) return "";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name} is not a URL`);
    return "";
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (
    url.protocol !== "https:" && !(url.protocol === "http:" && loopback) &&
    !(url.protocol === "http:" && name === "SUPABASE_URL")
  ) {
    // SUPABASE_URL is http inside `supabase start` (http://kong:8000); the others never are.
    problems.push(`${name} must be https (http is accepted for loopback addresses only)`);
  }
  return value.replace(/\/+$/, "");
}

/**
 * GOOGLE_PUSH_URL: `off`, or the push function's public address. Unset, it is
 * SUPABASE_URL/functions/v1/google-calendar-push when SUPABASE_URL is https (a hosted project),
 * and push is off otherwise. Google delivers only to https with a valid certificate; plain http
 * is accepted for a loopback address only, and only when the API is an emulator's.
 */
export function parsePush(
  value: string | null,
  supabaseUrl: string,
  apiBaseUrl: string,
  problems: string[],
): { address: string } | null {
  if (value?.toLowerCase() === "off") return null;
  if (value === null) {
    if (!supabaseUrl.startsWith("https://")) return null;
    return { address: `${supabaseUrl}/functions/v1/${PUSH_FUNCTION}` };
  }
  const address = checkUrl("GOOGLE_PUSH_URL", value, problems);
  if (address.startsWith("http:") && apiBaseUrl === GOOGLE_DEFAULTS.apiBaseUrl) {
    problems.push("GOOGLE_PUSH_URL must be https: Google delivers only to https addresses");
  }
  return address ? { address } : null;
}

/**
 * GOOGLE_SCOPES: the Calendar scopes a consent link asks for, by short name (`calendar.events`,
 * `calendar.events.freebusy`, ...), space- or comma-separated; `openid email` are always added.
 * One of them must allow writing events (`calendar.events` or `calendar`): the kit's grant rule.
 */
export function parseScopes(value: string | null, problems: string[]): string[] {
  if (!value) return [...REQUESTED_SCOPES];
  const names = value.split(/[\s,]+/).filter(Boolean);
  const scopes: string[] = [];
  for (const name of names) {
    const scope = KNOWN_CALENDAR_SCOPES[name];
    if (!scope) {
      problems.push(
        `GOOGLE_SCOPES must list Calendar scopes among ${
          Object.keys(KNOWN_CALENDAR_SCOPES).join(", ")
        }`,
      );
      return [...REQUESTED_SCOPES];
    }
    if (!scopes.includes(scope)) scopes.push(scope);
  }
  if (!hasCalendarScope(scopes)) {
    problems.push("GOOGLE_SCOPES must include calendar.events (or calendar)");
  }
  return ["openid", "email", ...scopes];
}

/** ALLOWED_ORIGINS: comma-separated origins such as https://app.example.com; never `*`. */
export function parseOrigins(value: string | null, problems: string[]): string[] {
  if (!value) return [];
  const origins = value.split(",").map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(origin);
    } catch {
      // Reported below.
    }
    if (!parsed || parsed.origin !== origin) {
      problems.push(
        "ALLOWED_ORIGINS must list origins like https://app.example.com, comma-separated",
      );
      return [];
    }
  }
  return origins;
}

/**
 * GOOGLE_RISC_EXTRA_CLIENT_IDS: the project's other OAuth client ids (Android, iOS, …),
 * comma-separated; Google addresses a SET to the client ids the account used.
 */
export function parseClientIds(value: string | null, problems: string[]): string[] {
  if (!value) return [];
  const ids = value.split(",").map((id) => id.trim()).filter(Boolean);
  if (ids.some((id) => !/^[\x21-\x7e]{1,256}$/.test(id))) {
    problems.push("GOOGLE_RISC_EXTRA_CLIENT_IDS must be comma-separated OAuth client ids");
    return [];
  }
  return ids;
}

/** An optional whole number within [min, max]; `fallback` when unset (or when reported bad). */
export function wholeNumber(
  name: string,
  value: string | null,
  fallback: number,
  [min, max]: [number, number],
  problems: string[],
): number {
  if (value === null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}`);
    return fallback;
  }
  return n;
}

/** Freezes `value` and every plain object or array inside it (not byte arrays or URLs). */
export function deepFreeze<T>(value: T): T {
  if (
    value && typeof value === "object" && !(value instanceof Uint8Array) && !(value instanceof URL)
  ) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
