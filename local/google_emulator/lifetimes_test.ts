import assert from "node:assert/strict";
import {
  INACTIVITY_LIMIT_MS,
  refreshLifetimeSeconds,
  refreshTokenExpiresIn,
  refreshTokenLapse,
  TESTING_REFRESH_LIFETIME_SECONDS,
} from "./lifetimes.ts";

const EVENTS = "https://www.googleapis.com/auth/calendar.events";

Deno.test("refreshLifetimeSeconds() gives Testing-mode grants beyond sign-in 7 days", () => {
  const testing = (scopes: string[]) =>
    refreshLifetimeSeconds({ publishing: "testing", scopes, timeLimitSeconds: undefined });
  assert.equal(testing(["openid", "email", EVENTS]), TESTING_REFRESH_LIFETIME_SECONDS);
  assert.equal(testing(["openid", "email", "profile"]), undefined);
  assert.equal(
    refreshLifetimeSeconds({
      publishing: "production",
      scopes: [EVENTS],
      timeLimitSeconds: undefined,
    }),
    undefined,
  );
});

Deno.test("refreshLifetimeSeconds() keeps the shorter of Testing and a time limit", () => {
  assert.equal(
    refreshLifetimeSeconds({ publishing: "testing", scopes: [EVENTS], timeLimitSeconds: 3600 }),
    3600,
  );
  assert.equal(
    refreshLifetimeSeconds({
      publishing: "production",
      scopes: ["openid"],
      timeLimitSeconds: 86400 * 30,
    }),
    86400 * 30,
  );
});

Deno.test("refreshTokenLapse() reports a fixed end, then six months unused", () => {
  const now = 1_000_000_000_000;
  assert.equal(refreshTokenLapse({ lastUsedAt: now, expiresAt: now + 1 }, now), undefined);
  assert.equal(refreshTokenLapse({ lastUsedAt: now, expiresAt: now }, now), "expired");
  assert.equal(
    refreshTokenLapse({ lastUsedAt: now - INACTIVITY_LIMIT_MS + 1, expiresAt: undefined }, now),
    undefined,
  );
  assert.equal(
    refreshTokenLapse({ lastUsedAt: now - INACTIVITY_LIMIT_MS, expiresAt: undefined }, now),
    "inactive",
  );
});

Deno.test("refreshTokenExpiresIn() counts whole seconds left and never goes below zero", () => {
  assert.equal(refreshTokenExpiresIn(undefined, 0), undefined);
  assert.equal(refreshTokenExpiresIn(10_999, 1_000), 9);
  assert.equal(refreshTokenExpiresIn(0, 5_000), 0);
});
