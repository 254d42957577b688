import assert from "node:assert/strict";
import {
  allowsCalendarRead,
  grantedScopes,
  isKnownScope,
  isSignInScope,
  parseScope,
} from "./scopes.ts";

const EVENTS = "https://www.googleapis.com/auth/calendar.events";

Deno.test("parseScope() splits on spaces and drops duplicates and empty parts", () => {
  assert.deepEqual(parseScope(`openid  email ${EVENTS} email`), ["openid", "email", EVENTS]);
  assert.deepEqual(parseScope(null), []);
});

Deno.test("isSignInScope() knows the short names and their userinfo URLs only", () => {
  assert.equal(isSignInScope("openid"), true);
  assert.equal(isSignInScope("https://www.googleapis.com/auth/userinfo.profile"), true);
  assert.equal(isSignInScope(EVENTS), false);
});

Deno.test("isKnownScope() accepts googleapis auth URLs and refuses other strings", () => {
  assert.equal(isKnownScope(EVENTS), true);
  assert.equal(isKnownScope("https://evil.example/auth/calendar"), false);
  assert.equal(isKnownScope("calendar"), false);
});

Deno.test("grantedScopes() orders short sign-in names, their URL forms, then the rest", () => {
  assert.deepEqual(grantedScopes([EVENTS, "openid", "email"]), [
    "email",
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    EVENTS,
  ]);
});

Deno.test("allowsCalendarRead() needs an exact Calendar read scope, not a prefix", () => {
  assert.equal(allowsCalendarRead([EVENTS]), true);
  assert.equal(
    allowsCalendarRead(["https://www.googleapis.com/auth/calendar.settings.readonly"]),
    false,
  );
  assert.equal(allowsCalendarRead(["openid", "email"]), false);
});
