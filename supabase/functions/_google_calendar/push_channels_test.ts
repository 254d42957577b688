import assert from "node:assert/strict";
import { isAppError } from "./errors.ts";
import {
  constantTimeEqual,
  hashChannelToken,
  renewalTime,
  STOP_PATH,
  stopChannel,
} from "./push_channels.ts";

Deno.test("a channel token is stored as its SHA-256, hex", async () => {
  assert.equal(
    await hashChannelToken("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("constantTimeEqual compares whole strings", () => {
  assert.equal(constantTimeEqual("a".repeat(64), "a".repeat(64)), true);
  assert.equal(constantTimeEqual("a".repeat(64), "a".repeat(63) + "b"), false);
  assert.equal(constantTimeEqual("a".repeat(64), "a".repeat(63)), false);
  assert.equal(constantTimeEqual("", "a"), false);
});

Deno.test("renewals fall between 60 % and 85 % of the time left", () => {
  const now = Date.parse("2026-12-06T00:00:00Z");
  const expiration = new Date(now + 100_000);
  assert.equal(renewalTime(expiration, now, 0).getTime(), now + 60_000);
  assert.equal(renewalTime(expiration, now, 1).getTime(), now + 85_000);
  assert.equal(renewalTime(new Date(now - 5), now, 0.5).getTime(), now);
});

function answering(status: number, seen: Request[] = []): typeof fetch {
  return (input, init) => {
    seen.push(new Request(input, init));
    return Promise.resolve(new Response(status === 204 ? null : "{}", { status }));
  };
}

const channel = { channelId: "c1", resourceId: "r1", accessToken: "ya29.secret" };

Deno.test("stopChannel sends id and resourceId with the given token, and reads Google's answer", async () => {
  const seen: Request[] = [];
  const deps = { apiBaseUrl: "https://api.test", timeoutMs: 1000, fetch: answering(204, seen) };
  assert.equal(await stopChannel(deps, channel), "stopped");
  assert.equal(seen[0]!.url, `https://api.test${STOP_PATH}`);
  assert.equal(seen[0]!.headers.get("authorization"), "Bearer ya29.secret");
  assert.deepEqual(await seen[0]!.json(), { id: "c1", resourceId: "r1" });
  for (
    const [status, result] of [[404, "not_found"], [401, "unauthorized"], [403, "unauthorized"]]
  ) {
    assert.equal(
      await stopChannel({ ...deps, fetch: answering(status as number) }, channel),
      result,
    );
  }
});

Deno.test("stopChannel: 5xx and 429 are errors to retry later", async () => {
  const deps = { apiBaseUrl: "https://api.test", timeoutMs: 1000 };
  await assert.rejects(
    stopChannel({ ...deps, fetch: answering(503) }, channel),
    (e) => isAppError(e, "google_unavailable"),
  );
  await assert.rejects(
    stopChannel({ ...deps, fetch: answering(429) }, channel),
    (e) => isAppError(e, "google_rate_limited"),
  );
});
