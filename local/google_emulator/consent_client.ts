/** Answers the emulator's consent page in code, the way a person would in a browser. */

/** A `fetch`-compatible function, e.g. `emulator.fetch` to skip the network. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * The authorization ended on one of Google's error pages (e.g. a block page) instead of
 * redirecting: nothing comes back to the app.
 */
export class ConsentPageError extends Error {
  override name = "ConsentPageError";
  /** The page's error code, e.g. `disallowed_useragent`, `access_denied`, `org_internal`. */
  readonly code: string;
  /** The page's HTTP status. */
  readonly status: number;

  constructor(code: string, status: number, message: string) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** How to answer the consent page. */
export interface AnswerConsentOptions {
  /** The account to sign in as. */
  email: string;
  /**
   * "typed" (default) types `email` into the email field; "chooser" picks it in the account
   * chooser (as with `prompt=select_account`) and fails unless the chooser offers it.
   */
  via?: "typed" | "chooser";
  /** Default "allow". */
  action?: "allow" | "cancel";
  /** Non-sign-in scopes to untick (Google's granular consent). */
  uncheck?: string[];
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
}

/**
 * GETs the authorization URL, fills in the consent form it renders and posts it. Returns the
 * redirect `Location` (not followed): the callback URL with `code` or `error`. When the
 * authorization request itself is redirected back (e.g. `unsupported_response_type`), that
 * redirect is returned without posting anything.
 */
export async function answerConsent(
  authUrl: string | URL,
  options: AnswerConsentOptions,
): Promise<URL> {
  const doFetch: FetchLike = options.fetch ?? fetch;
  const page = await doFetch(String(authUrl), { redirect: "manual" });
  const html = await page.text();
  const early = redirectTarget(page, String(authUrl));
  if (early !== undefined) return early;
  if (page.status !== 200) throw pageError(page.status, html, "authorization page");
  const action = attribute(html, /<form\b[^>]*\baction="([^"]*)"/);
  const consentId = attribute(html, /<input\b[^>]*\bname="consent_id"[^>]*\bvalue="([^"]*)"/);
  if (action === undefined || consentId === undefined) {
    throw new Error("no consent form found on the authorization page");
  }
  const offered = [...html.matchAll(/<input\b[^>]*\btype="checkbox"[^>]*\bname="scope"[^>]*>/g)]
    .map((match) => attribute(match[0], /\bvalue="([^"]*)"/))
    .filter((scope): scope is string => scope !== undefined);
  const uncheck = options.uncheck ?? [];
  const stray = uncheck.find((scope) => !offered.includes(scope));
  if (stray !== undefined) throw new Error(`scope ${stray} has no checkbox on the consent page`);

  const form = new URLSearchParams({ consent_id: consentId });
  if (options.via === "chooser") {
    const accounts = [...html.matchAll(/<input\b[^>]*\btype="radio"[^>]*\bname="account"[^>]*>/g)]
      .map((match) => attribute(match[0], /\bvalue="([^"]*)"/));
    if (!accounts.includes(options.email)) {
      throw new Error(`${options.email} is not offered in the account chooser`);
    }
    form.set("account", options.email);
    form.set("email", "");
  } else {
    form.set("email", options.email);
  }
  form.set("action", options.action ?? "allow");
  for (const scope of offered) if (!uncheck.includes(scope)) form.append("scope", scope);
  const actionUrl = new URL(action, String(authUrl)).href;
  const answer = await doFetch(actionUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: form.toString(),
    redirect: "manual",
  });
  const body = await answer.text();
  const target = redirectTarget(answer, actionUrl);
  if (target === undefined) throw pageError(answer.status, body, "consent post");
  return target;
}

function pageError(status: number, html: string, what: string): Error {
  const code = attribute(html, /\bdata-error="([^"]*)"/);
  const message = `${what} answered ${status}: ${summarise(html)}`;
  return code === undefined ? new Error(message) : new ConsentPageError(code, status, message);
}

function redirectTarget(response: Response, base: string): URL | undefined {
  const location = response.headers.get("location");
  if (response.status < 300 || response.status > 399 || location === null) return undefined;
  return new URL(location, base);
}

function attribute(html: string, pattern: RegExp): string | undefined {
  const value = pattern.exec(html)?.[1];
  return value === undefined ? undefined : unescapeHtml(value);
}

function unescapeHtml(text: string): string {
  return text.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

function summarise(html: string): string {
  return html.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 200);
}
