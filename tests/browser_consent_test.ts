/**
 * The consent link in a real browser: Chromium opens google-connect's link, the person answers
 * the emulator's consent page with clicks, and the redirects end on the stack's result page.
 * Each run saves a full-page screenshot under .local/e2e-screenshots/.
 */

import { CALENDAR_SCOPE } from "../supabase/functions/_google_calendar/google_facts.ts";
import assert from "node:assert/strict";
import { isPng, withPage } from "./support/browser.ts";
import { decryptedRow, emulatorAccount, pendingFlowCount } from "./support/flows.ts";
import {
  connectUrl,
  createUser,
  emulatorControl,
  googleEmail,
  stack,
  tokenRow,
} from "./support/stack.ts";

const SCREENSHOT_DIR = ".local/e2e-screenshots";

/** A Google account the emulator's chooser lists, so the browser can pick it. */
async function chooserAccount(prefix: string): Promise<string> {
  const email = googleEmail(prefix);
  // The chooser lists the accounts the emulator has seen; an empty calendar seed adds one.
  await emulatorControl("events", { email, items: [] });
  return email;
}

/** Where the browser ended up and what it showed there. */
interface Landing {
  url: URL;
  heading: string;
  body: string;
}

/**
 * Opens `authUrl`, picks `google` in the chooser, unticks `untick`, presses Allow or Cancel and
 * waits for the result page, which is saved as `<scenario>.png`.
 */
async function answerInBrowser(
  scenario: string,
  authUrl: URL,
  google: string,
  answer: { button: "Allow" | "Cancel"; untick?: string[] },
): Promise<Landing> {
  const screenshot = `${SCREENSHOT_DIR}/${scenario}.png`;
  await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
  // A leftover from an earlier run must not pass for this run's screenshot.
  await Deno.remove(screenshot).catch(() => {});

  const landing = await withPage(async (page) => {
    await page.goto(authUrl.href);
    await page.getByRole("radio", { name: google, exact: true }).check();
    for (const scope of answer.untick ?? []) {
      await page.getByRole("checkbox", { name: scope, exact: true }).uncheck();
    }
    await page.getByRole("button", { name: answer.button, exact: true }).click();
    // Consent post → 302 to google-callback → 303 to the result page.
    await page.waitForURL((url) => `${url.origin}${url.pathname}` === stack.result_page_url);
    const heading = page.getByRole("heading", { level: 1 });
    const body = page.locator("body > p");
    await heading.waitFor({ state: "visible" });
    await body.waitFor({ state: "visible" });
    const seen = {
      url: new URL(page.url()),
      heading: await heading.innerText(),
      body: await body.innerText(),
    };
    await page.screenshot({ path: screenshot, fullPage: true });
    return seen;
  });

  assert(isPng(await Deno.readFile(screenshot)), `${screenshot} is a non-empty PNG`);
  return landing;
}

function assertResultPage(url: URL, params: [string, string][]): void {
  assert.deepEqual(`${url.origin}${url.pathname}`, stack.result_page_url, "the result page");
  assert.deepEqual([...url.searchParams], params, "the result page's parameters");
}

Deno.test("browser: Allow at Google lands on the connected page and stores the tokens", async () => {
  const user = await createUser("browser-allow");
  const google = await chooserAccount("browser-allow");
  const landing = await answerInBrowser("allow", await connectUrl(user.id), google, {
    button: "Allow",
  });

  assertResultPage(landing.url, [["result", "connected"]]);
  assert.deepEqual(landing.heading, "Google Calendar connected");
  assert.deepEqual(landing.body, "You can close this tab and go back to the chat.");

  const row = await decryptedRow(user.id);
  assert(row, "a token row is stored for the user");
  const issued = await emulatorAccount(google);
  assert.deepEqual(
    row.accessToken,
    issued.latestAccessToken?.token,
    "the access token Google issued",
  );
  assert.deepEqual(
    row.refreshToken,
    issued.refreshTokens[0]?.token,
    "the refresh token Google issued",
  );
  assert.deepEqual(row.googleEmail, google);
  assert.deepEqual(await pendingFlowCount(user.id), 0, "the pending flow is used up");
});

Deno.test("browser: unticking the calendar box lands on the page that explains what to do", async () => {
  const user = await createUser("browser-partial");
  const google = await chooserAccount("browser-partial");
  const landing = await answerInBrowser("untick-calendar", await connectUrl(user.id), google, {
    button: "Allow",
    untick: [CALENDAR_SCOPE],
  });

  assertResultPage(landing.url, [["result", "partial"], ["reason", "google_scope_missing"]]);
  assert.deepEqual(landing.heading, "Calendar access was not granted");
  assert(landing.body.includes("Ask for a new link"), "the page says to ask for a new link");
  assert(landing.body.includes("keep the calendar box ticked"), "and to keep the box ticked");

  assert.deepEqual(await tokenRow(user.id), null, "no token row");
  assert.deepEqual(await pendingFlowCount(user.id), 0, "no pending flow left");
});

Deno.test("browser: Cancel at Google lands on the not-connected page and stores nothing", async () => {
  const user = await createUser("browser-cancel");
  const google = await chooserAccount("browser-cancel");
  const landing = await answerInBrowser("cancel", await connectUrl(user.id), google, {
    button: "Cancel",
  });

  assertResultPage(landing.url, [["result", "denied"], ["reason", "consent_denied"]]);
  assert.deepEqual(landing.heading, "Google Calendar not connected");
  assert(landing.body.includes("You chose not to give access"), "the page says why");

  assert.deepEqual(await tokenRow(user.id), null, "no token row");
  assert.deepEqual(await pendingFlowCount(user.id), 0, "no pending flow left");
});

Deno.test("browser: the chooser lists the accounts and Use another account; its screenshot is saved", async () => {
  const user = await createUser("browser-chooser");
  const google = await chooserAccount("browser-chooser");
  const screenshot = `${SCREENSHOT_DIR}/chooser.png`;
  await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
  await Deno.remove(screenshot).catch(() => {});
  await withPage(async (page) => {
    await page.goto((await connectUrl(user.id)).href);
    await page.getByRole("heading", { name: "Choose an account", exact: true }).waitFor();
    assert.ok(await page.getByRole("radio", { name: google, exact: true }).isVisible());
    assert.ok(await page.getByRole("radio", { name: "Use another account" }).isVisible());
    assert.equal(
      await page.getByRole("textbox", { name: "Email or phone" }).isVisible(),
      false,
      "the email field waits for Use another account",
    );
    assert.ok(await page.getByRole("checkbox", { name: CALENDAR_SCOPE, exact: true }).isChecked());
    assert.ok(await page.getByText("View and edit events on all your calendars").isVisible());
    await page.screenshot({ path: screenshot, fullPage: true });
  });
  assert(isPng(await Deno.readFile(screenshot)), `${screenshot} is a non-empty PNG`);
});

Deno.test("browser: Use another account with no email says so inline, then connects the typed one", async () => {
  const user = await createUser("browser-other");
  const google = googleEmail("browser-other");
  const screenshot = `${SCREENSHOT_DIR}/empty-email.png`;
  await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
  const landing = await withPage(async (page) => {
    const authUrl = await connectUrl(user.id);
    await page.goto(authUrl.href);
    await page.getByRole("radio", { name: "Use another account" }).check();
    const email = page.getByRole("textbox", { name: "Email or phone" });
    await email.waitFor({ state: "visible" });

    await page.getByRole("button", { name: "Allow", exact: true }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor({ state: "visible" });
    assert.equal(await alert.innerText(), "Enter an email address to continue.");
    assert.equal(new URL(page.url()).pathname, authUrl.pathname, "still on the chooser");
    await page.screenshot({ path: screenshot, fullPage: true });

    await email.fill("not-an-email");
    await page.getByRole("button", { name: "Allow", exact: true }).click();
    assert.match(await alert.innerText(), /doesn't look like an email address/);

    await email.fill(google);
    await page.getByRole("button", { name: "Allow", exact: true }).click();
    await page.waitForURL((url) => `${url.origin}${url.pathname}` === stack.result_page_url);
    return new URL(page.url());
  });
  assertResultPage(landing, [["result", "connected"]]);
  assert.equal((await decryptedRow(user.id))?.googleEmail, google, "the typed account");
});

Deno.test("consent page without JavaScript: an empty email comes back as the page, with the message", async () => {
  const user = await createUser("nojs-empty");
  const page = await fetch(await connectUrl(user.id));
  const html = await page.text();
  const consentId = html.match(/name="consent_id" value="([^"]+)"/)?.[1];
  const action = html.match(/<form\b[^>]*\baction="([^"]+)"/)?.[1];
  assert.ok(consentId && action);
  const post = (email: string) =>
    fetch(action.replaceAll("&amp;", "&"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        consent_id: consentId,
        account: "__other__",
        email,
        action: "allow",
        scope: CALENDAR_SCOPE,
      }),
      redirect: "manual",
    });
  const again = await post("");
  const text = await again.text();
  assert.equal(again.status, 400);
  assert.match(text, /role="alert">Enter a valid email to continue\.</);
  assert.match(text, new RegExp(`name="consent_id" value="${consentId}"`), "the same consent");
  const answered = await post(googleEmail("nojs-empty"));
  await answered.body?.cancel();
  assert.equal(answered.status, 302, "the consent was still pending: the retry goes through");
});
