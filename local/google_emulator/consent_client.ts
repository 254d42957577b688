/** Answers the emulator's consent page in code, the way a person would in a browser. */

/** A `fetch`-compatible function, e.g. `emulator.fetch` to skip the network. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** How to answer the consent page. */
export interface AnswerConsentOptions {
  /** The account to sign in as (typed into the email field). */
  email: string;
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
  if (page.status !== 200) {
    throw new Error(`authorization page answered ${page.status}: ${summarise(html)}`);
  }
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

  const form = new URLSearchParams({ consent_id: consentId, email: options.email });
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
  if (target === undefined) {
    throw new Error(`consent post answered ${answer.status}: ${summarise(body)}`);
  }
  return target;
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
