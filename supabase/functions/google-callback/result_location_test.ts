import assert from "node:assert/strict";
import { CHAT_TEXT, linkKind, resultLocation } from "./result_location.ts";

Deno.test("result location: a page gets result and reason, and keeps its own query", () => {
  const url = resultLocation("https://app.example/done?lang=de", {
    result: "partial",
    reason: "google_scope_missing",
  });
  assert.equal(
    url.href,
    "https://app.example/done?lang=de&result=partial&reason=google_scope_missing",
  );
  assert.equal(
    resultLocation("https://app.example/done", { result: "connected" }).href,
    "https://app.example/done?result=connected",
  );
});

Deno.test("result location: a WhatsApp link gets the result as the prefilled message", () => {
  const url = resultLocation("https://wa.me/15551234567", {
    result: "connected",
  });
  assert.equal(url.origin + url.pathname, "https://wa.me/15551234567");
  assert.deepEqual([...url.searchParams.keys()], ["text"]);
  assert.ok(url.search.includes("%20") && !url.search.includes("+"), "spaces as %20");
  assert.equal(
    url.searchParams.get("text"),
    `${CHAT_TEXT.connected} [google_calendar result=connected]`,
  );
  const denied = resultLocation("https://wa.me/15551234567?text=hello", {
    result: "denied",
    reason: "consent_denied",
  });
  assert.equal(
    denied.searchParams.get("text"),
    `${CHAT_TEXT.denied} [google_calendar result=denied reason=consent_denied]`,
    "the operator's text is replaced by the result",
  );
  const api = resultLocation(
    "https://api.whatsapp.com/send?phone=15551234567",
    {
      result: "expired",
    },
  );
  assert.equal(api.searchParams.get("phone"), "15551234567");
  assert.match(api.searchParams.get("text")!, /result=expired\]$/);
});

Deno.test("result location: a Telegram link gets a start parameter Telegram accepts", () => {
  for (
    const result of [
      "connected",
      "denied",
      "partial",
      "expired",
      "error",
    ] as const
  ) {
    const url = resultLocation("https://t.me/my_calendar_bot", {
      result,
      reason: "x_y",
    });
    assert.equal(url.searchParams.get("start"), `gcal_${result}`);
    assert.match(url.searchParams.get("start")!, /^[A-Za-z0-9_-]{1,64}$/);
  }
});

Deno.test("result location: only those hosts count as chat links", () => {
  assert.equal(linkKind(new URL("https://wa.me/1")), "whatsapp");
  assert.equal(linkKind(new URL("https://t.me/bot")), "telegram");
  assert.equal(linkKind(new URL("https://wa.me.example.com/1")), "page");
  assert.equal(linkKind(new URL("https://example.com/wa.me")), "page");
});
