/**
 * The result pages: the static page in examples/result_page/ that an operator hosts anywhere (in
 * a real browser, from a file, under its own Content-Security-Policy), and a chat link as
 * GOOGLE_RESULT_PAGE_URL, where google-callback puts the result in WhatsApp's prefilled text.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { serveFunction } from "../local/stack/functions.ts";
import { renderResultPage } from "../local/stack/result_page.ts";
import { CHAT_TEXT } from "../supabase/functions/google-callback/result_location.ts";
import { withPage } from "./support/browser.ts";
import { followCallback } from "./support/callback.ts";
import { consentedFlow } from "./support/flows.ts";
import { stack, tokenRow } from "./support/stack.ts";

const PAGE = "examples/result_page/index.html";
const RESULTS = ["connected", "denied", "partial", "expired", "error"] as const;

Deno.test("static result page: its policy allows exactly its own script", async () => {
  const html = await Deno.readTextFile(PAGE);
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 1, "one inline script");
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(scripts[0]![1]!),
  );
  const hash = Buffer.from(digest).toString("base64");
  assert.ok(
    html.includes(`script-src 'sha256-${hash}'`),
    `the policy's script-src must be 'sha256-${hash}' (after \`deno fmt\`)`,
  );
  assert.match(html, /default-src 'none'/);
  assert.ok(!/innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(html), "text only");
});

/** The local stack's page's title for `result`: the static page must say the same. */
async function localTitle(result: string): Promise<string> {
  const res = renderResultPage("GET", new URL(`http://x/?result=${result}`));
  return (await res.text()).match(/<h1>(.*?)<\/h1>/)![1]!;
}

Deno.test("static result page: each result as the callback sends it, in a real browser", async () => {
  const file = `file://${await Deno.realPath(PAGE)}`;
  await withPage(async (page) => {
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(String(e)));
    for (const result of RESULTS) {
      await page.goto(`${file}?result=${result}&reason=google_scope_missing`);
      assert.equal(await page.getAttribute("body", "data-result"), result);
      assert.equal(await page.textContent("#title"), await localTitle(result), result);
      assert.equal(await page.textContent("#reason"), "Code: google_scope_missing");
      assert.equal(await page.isVisible("#back"), false, "no chat link configured");
    }
    const hostile = [
      "",
      "?result=connected&result=denied",
      "?result=hacked",
      "?result=connected&reason=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
      "?result=__proto__",
    ];
    for (const query of hostile) {
      await page.goto(`${file}${query}`);
      assert.equal(await page.getAttribute("body", "data-result"), "invalid", query);
      assert.equal(await page.textContent("#title"), "This page address is not valid", query);
      assert.equal(await page.locator("img").count(), 0, query);
    }
    assert.deepEqual(errors, [], "no script error, nothing blocked by the policy");
  });
});

Deno.test("static result page: a chat link put in its back link shows", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const html = (await Deno.readTextFile(PAGE))
      .replace('<a id="back" href=""', '<a id="back" href="https://wa.me/15551234567"');
    await Deno.writeTextFile(`${dir}/index.html`, html);
    await withPage(async (page) => {
      await page.goto(`file://${dir}/index.html?result=connected`);
      assert.equal(await page.isVisible("#back"), true);
      assert.equal(await page.getAttribute("#back", "href"), "https://wa.me/15551234567");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a WhatsApp link as GOOGLE_RESULT_PAGE_URL: back to the chat, the result prefilled", async () => {
  const logDir = await Deno.makeTempDir();
  const server = await serveFunction("google-callback", {
    env: { ...stack.function_env, GOOGLE_RESULT_PAGE_URL: "https://wa.me/15551234567" },
    logDir,
  });
  try {
    const flow = await consentedFlow({ prefix: "chatlink" });
    // Google's redirect, to this callback process instead of the stack's.
    const url = new URL(`http://127.0.0.1:${server.port}/${flow.callbackUrl.search}`);
    const answer = await followCallback(url);
    assert.equal(answer.status, 303);
    const location = new URL(answer.location!);
    assert.equal(`${location.origin}${location.pathname}`, "https://wa.me/15551234567");
    assert.equal(
      location.searchParams.get("text"),
      `${CHAT_TEXT.connected} [google_calendar result=connected]`,
    );
    assert.equal(location.searchParams.get("result"), null, "no page parameters on a chat link");
    assert.ok(await tokenRow(flow.user.id), "and the grant is stored");
  } finally {
    await server.stop();
    await Deno.remove(logDir, { recursive: true });
  }
});
