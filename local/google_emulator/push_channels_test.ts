import assert from "node:assert/strict";
import { CalendarStore } from "./calendar_store.ts";
import { DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, PushHub } from "./push_channels.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");

function hub(allowHttpLoopback: boolean) {
  const store = new CalendarStore(() => NOW);
  return {
    store,
    hub: new PushHub(store, { now: () => NOW, issuer: "http://e", allowHttpLoopback }),
  };
}

Deno.test("PushHub.addressProblem() takes https, and http only to loopback when allowed", () => {
  const strict = hub(false).hub;
  assert.equal(strict.addressProblem("https://example.org/push"), undefined);
  assert.equal(strict.addressProblem("http://127.0.0.1:8000/push"), "notHttps");
  assert.equal(strict.addressProblem("not a url"), "invalid");
  const loose = hub(true).hub;
  for (const host of ["127.0.0.1:8000", "[::1]:8000", "localhost"]) {
    assert.equal(loose.addressProblem(`http://${host}/push`), undefined, host);
  }
  assert.equal(loose.addressProblem("http://10.0.0.1/push"), "notHttps");
  assert.equal(loose.addressProblem("http://127.0.0.1.example.org/push"), "notHttps");
});

Deno.test("PushHub.open() expires at the earlier of ttl and expiration, capped, default 604800 s", () => {
  const { store, hub: push } = hub(true);
  const calendar = store.primary("ada@example.com");
  const open = (id: string, ttlSeconds?: number, expiration?: number) =>
    push.open({
      id,
      token: undefined,
      // Port 9 (discard): nobody answers, and close() ends the tries.
      address: "http://127.0.0.1:9/push",
      ttlSeconds,
      expiration,
      calendar,
      requestedCalendarId: "primary",
      clientId: "c",
    });
  try {
    assert.equal(open("a").expiration, NOW + DEFAULT_TTL_SECONDS * 1000);
    assert.equal(open("b", 60).expiration, NOW + 60_000);
    assert.equal(open("c", 3600, NOW + 1000).expiration, NOW + 1000);
    assert.equal(open("d", 10 * MAX_TTL_SECONDS).expiration, NOW + MAX_TTL_SECONDS * 1000);
    assert.equal(push.live("a")?.id, "a");
    push.stop(push.live("a")!);
    assert.equal(push.live("a"), undefined);
  } finally {
    push.close();
  }
});
