/**
 * Google's facts, defined once: its endpoints, the scopes we ask for, which scopes mean calendar
 * access, and the reasons Google's APIs give for throttling. No I/O and no libraries, so any
 * module (or the benchmark) can import it without pulling in an OAuth client.
 */

/** Google's real endpoints: the default. Only GOOGLE_OAUTH_BASE_URL points elsewhere. */
export const GOOGLE_DEFAULTS = Object.freeze({
  issuer: "https://accounts.google.com",
  authorizationEndpoint: "https://accounts.google.com/o/oauth2/v2/auth",
  tokenEndpoint: "https://oauth2.googleapis.com/token",
  revocationEndpoint: "https://oauth2.googleapis.com/revoke",
  apiBaseUrl: "https://www.googleapis.com",
});

/** The endpoints of an emulator (or proxy) at `base`, laid out as Google's are. */
export function googleEndpointsAt(base: string): {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint: string;
} {
  return {
    issuer: base,
    authorizationEndpoint: `${base}/o/oauth2/v2/auth`,
    tokenEndpoint: `${base}/token`,
    revocationEndpoint: `${base}/revoke`,
  };
}

/** Least privilege: read and write events, not calendar settings or sharing. */
export const CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar.events";

const AUTH = "https://www.googleapis.com/auth/";

/**
 * The Calendar scopes an operator may ask for (GOOGLE_SCOPES) and google-connect's `scopes`
 * may add, by short name. https://developers.google.com/workspace/calendar/api/auth
 */
export const KNOWN_CALENDAR_SCOPES: Readonly<Record<string, string>> = Object.freeze({
  "calendar.events": CALENDAR_SCOPE,
  "calendar": `${AUTH}calendar`,
  "calendar.readonly": `${AUTH}calendar.readonly`,
  "calendar.events.readonly": `${AUTH}calendar.events.readonly`,
  "calendar.events.freebusy": `${AUTH}calendar.events.freebusy`,
  "calendar.freebusy": `${AUTH}calendar.freebusy`,
});

/** Scopes that allow reading events (events.list, events.get, events.instances). */
export const EVENTS_READ_SCOPES: readonly string[] = Object.freeze([
  CALENDAR_SCOPE,
  `${AUTH}calendar`,
  `${AUTH}calendar.events.readonly`,
  `${AUTH}calendar.readonly`,
]);

/**
 * Scopes that allow freebusy.query. Not `calendar.events`: Google refuses freebusy with it alone.
 * https://developers.google.com/workspace/calendar/api/v3/reference/freebusy/query#auth
 */
export const FREEBUSY_SCOPES: readonly string[] = Object.freeze([
  `${AUTH}calendar.events.freebusy`,
  `${AUTH}calendar.freebusy`,
  `${AUTH}calendar.readonly`,
  `${AUTH}calendar`,
]);

/** Calendar events, plus `openid email` to learn which account was connected: the default. */
export const REQUESTED_SCOPES: readonly string[] = Object.freeze([
  "openid",
  "email",
  CALENDAR_SCOPE,
]);

/**
 * Scopes that let us act on calendar events: ours, or the broader calendar scope that includes
 * it. Compared whole: `calendar.events.readonly` or `calendar.readonly` are not calendar access.
 */
export const CALENDAR_WRITE_SCOPES: readonly string[] = Object.freeze([
  CALENDAR_SCOPE,
  "https://www.googleapis.com/auth/calendar",
]);

/** True when one of `scopes` is exactly a scope that grants calendar event access. */
export function hasCalendarScope(scopes: readonly string[]): boolean {
  return scopes.some((s) => CALENDAR_WRITE_SCOPES.includes(s));
}

/**
 * Reasons in Google's API error bodies (`error.errors[].reason`, `error.details[].reason`) that
 * mean "slow down and retry", per the Calendar API's errors guide.
 */
export const RATE_LIMIT_REASONS: ReadonlySet<string> = new Set([
  "rateLimitExceeded",
  "userRateLimitExceeded",
  "quotaExceeded",
  "RATE_LIMIT_EXCEEDED",
  "RESOURCE_EXHAUSTED",
]);

/** Reasons that mean the token lacks a scope the call needs. */
export const SCOPE_REASONS: ReadonlySet<string> = new Set([
  "insufficientPermissions",
  "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
]);

/** Reasons that mean the API is not enabled in the OAuth client's Cloud project. */
export const API_DISABLED_REASONS: ReadonlySet<string> = new Set([
  "accessNotConfigured",
  "SERVICE_DISABLED",
]);
