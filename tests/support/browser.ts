/**
 * A real browser for the end-to-end tests: Debian's Chromium driven by playwright-core. Never a
 * Playwright browser download; local/bin/ensure_tools.sh installs the `chromium` package.
 */

import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Headless Chromium; throws (the test fails, it is not skipped) when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  const installed = await Deno.stat(CHROMIUM_PATH).then((info) => info.isFile, () => false);
  if (!installed) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install Debian's package with ` +
        "`bash local/bin/ensure_tools.sh` (or `sudo apt-get install chromium`)",
    );
  }
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // CI runs as root, where Chromium refuses to start with its sandbox.
    chromiumSandbox: false,
  });
}

/** Runs `fn` with a page of its own browser, which is closed afterwards whatever happens. */
export async function withPage<T>(fn: (page: Page) => Promise<T>): Promise<T> {
  const browser = await launchChromium();
  try {
    // A phone's screen: people open these links from a chat app.
    const page = await browser.newPage({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    // Everything is local: fail within seconds instead of Playwright's default 30 s.
    page.setDefaultTimeout(10_000);
    return await fn(page);
  } finally {
    await browser.close();
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether `bytes` start like a PNG file and hold more than the signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length > PNG_SIGNATURE.length && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}
