/** Scope rules of Google's OAuth server: sign-in scopes, granted-scope spelling, Calendar access. */

const USERINFO = "https://www.googleapis.com/auth/userinfo.";

/** Long URL form of each short sign-in scope (openid has none). */
const LONG_FORM: Readonly<Record<string, string>> = {
  email: `${USERINFO}email`,
  profile: `${USERINFO}profile`,
};

/** Scopes that unlock events.list, like the real Calendar API. */
export const CALENDAR_READ_SCOPES: readonly string[] = [
  "https://www.googleapis.com/auth/calendar",
  "https://www.googleapis.com/auth/calendar.readonly",
  "https://www.googleapis.com/auth/calendar.events",
  "https://www.googleapis.com/auth/calendar.events.readonly",
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
  return scopes.some((scope) => CALENDAR_READ_SCOPES.includes(scope));
}
