/** Scope rules of Google's OAuth server: sign-in scopes, granted-scope spelling, Calendar access. */

const USERINFO = "https://www.googleapis.com/auth/userinfo.";

/** Long URL form of each short sign-in scope (openid has none). */
const LONG_FORM: Readonly<Record<string, string>> = {
  email: `${USERINFO}email`,
  profile: `${USERINFO}profile`,
};

const AUTH = "https://www.googleapis.com/auth/";

/**
 * Scopes that unlock reading events (list, get, instances, watch), per the "Authorization"
 * section of each method's reference page, e.g.
 * https://developers.google.com/calendar/api/v3/reference/events/list#auth
 */
export const CALENDAR_READ_SCOPES: readonly string[] = [
  `${AUTH}calendar`,
  `${AUTH}calendar.readonly`,
  `${AUTH}calendar.events`,
  `${AUTH}calendar.events.readonly`,
  `${AUTH}calendar.events.owned`,
  `${AUTH}calendar.events.owned.readonly`,
];

/** Scopes that unlock writing events (insert, patch, update, delete): events/insert#auth. */
export const CALENDAR_WRITE_SCOPES: readonly string[] = [
  `${AUTH}calendar`,
  `${AUTH}calendar.events`,
  `${AUTH}calendar.events.owned`,
];

/**
 * Scopes that unlock freebusy.query (freebusy/query#auth). `calendar.events` alone does not:
 * Google answers 403 insufficientPermissions.
 */
export const FREEBUSY_SCOPES: readonly string[] = [
  `${AUTH}calendar`,
  `${AUTH}calendar.readonly`,
  `${AUTH}calendar.freebusy`,
  `${AUTH}calendar.events.freebusy`,
];

/** Scopes that unlock calendarList.get and calendarList.list (calendarList/get#auth). */
export const CALENDAR_LIST_SCOPES: readonly string[] = [
  `${AUTH}calendar`,
  `${AUTH}calendar.readonly`,
  `${AUTH}calendar.calendarlist`,
  `${AUTH}calendar.calendarlist.readonly`,
];

/** Scopes that unlock settings.get and settings.list (settings/get#auth). */
export const SETTINGS_SCOPES: readonly string[] = [
  `${AUTH}calendar`,
  `${AUTH}calendar.readonly`,
  `${AUTH}calendar.settings.readonly`,
];

/** Scopes that unlock calendars.get (calendars/get#auth). */
export const CALENDARS_GET_SCOPES: readonly string[] = [
  `${AUTH}calendar`,
  `${AUTH}calendar.readonly`,
  `${AUTH}calendar.calendars`,
  `${AUTH}calendar.calendars.readonly`,
  `${AUTH}calendar.app.created`,
];

/** True for `openid`, `email`, `profile` and their `userinfo.*` URL forms (always granted). */
export function isSignInScope(scope: string): boolean {
  return scope === "openid" || scope in LONG_FORM || scope === `${USERINFO}email` ||
    scope === `${USERINFO}profile`;
}

/** Google accepts its own short sign-in names and `https://www.googleapis.com/auth/...` URLs. */
export function isKnownScope(scope: string): boolean {
  return isSignInScope(scope) || /^https:\/\/www\.googleapis\.com\/auth\/[\w.\-]+$/.test(scope);
}

/** Splits a space-delimited scope parameter, dropping duplicates and empty parts. */
export function parseScope(scope: string | null): string[] {
  return [...new Set((scope ?? "").split(" ").filter((part) => part !== ""))];
}

/**
 * Orders granted scopes the way Google reports them: short sign-in names (a short `email` or
 * `profile` also brings its URL form along), then the `userinfo.*` URLs, then the rest in
 * request order.
 */
export function grantedScopes(scopes: readonly string[]): string[] {
  const short = new Set<string>();
  const long = new Set<string>();
  const rest: string[] = [];
  for (const scope of scopes) {
    const longForm = LONG_FORM[scope];
    if (scope === "openid") short.add(scope);
    else if (longForm !== undefined) {
      short.add(scope);
      long.add(longForm);
    } else if (isSignInScope(scope)) long.add(scope);
    else if (!rest.includes(scope)) rest.push(scope);
  }
  return [...[...short].sort(), ...[...long].sort(), ...rest];
}

/** True when the grant lets its holder list Calendar events. */
export function allowsCalendarRead(scopes: readonly string[]): boolean {
  return allowsAny(scopes, CALENDAR_READ_SCOPES);
}

/** True when the grant holds one of `accepted`. */
export function allowsAny(scopes: readonly string[], accepted: readonly string[]): boolean {
  return scopes.some((scope) => accepted.includes(scope));
}
