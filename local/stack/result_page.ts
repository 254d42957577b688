/**
 * The page the person lands on after consent, served by the local stack only. In production this
 * is the app's own page (GOOGLE_RESULT_PAGE_URL); Supabase would show a function's HTML as text.
 */

import { ERROR_STATUS } from "../../supabase/functions/_google_calendar/errors.ts";

const MESSAGES: Record<string, { title: string; body: string }> = {
  connected: {
    title: "Google Calendar connected",
    body: "You can close this tab and go back to the chat.",
  },
  denied: {
    title: "Google Calendar not connected",
    body: "You chose not to give access. Ask the assistant for a new link if you change your mind.",
  },
  partial: {
    title: "Calendar access was not granted",
    body: "Google did not give access to your calendar events. Ask for a new link and keep the " +
      "calendar box ticked on Google's page.",
  },
  expired: {
    title: "This link has expired",
    body: "Consent links work once and for ten minutes. Ask the assistant for a new link.",
  },
  error: {
    title: "Something went wrong",
    body: "Google Calendar could not be connected. Please ask the assistant for a new link.",
  },
};

const INVALID = {
  title: "This page address is not valid",
  body: "If you were connecting Google Calendar, ask the assistant for a new link.",
};

/** The callback's reason codes: `reason` may only be one of them. */
const REASONS = new Set(Object.keys(ERROR_STATUS));
const MAX_URL_LENGTH = 2048;

/**
 * Only the addresses the callback produces are shown: `result` (a known value, once) and
 * optionally `reason` (a known error code, once), nothing else. Anything else is a 400 with
 * `x-error-code: invalid_request` (405 `method_not_allowed` for other methods) and a generic
 * page. Nothing from the request is ever echoed into the page.
 */
export function renderResultPage(method: string, url: URL): Response {
  if (method !== "GET" && method !== "HEAD") {
    return page(INVALID, 405, { allow: "GET", "x-error-code": "method_not_allowed" });
  }
  const keys = [...url.searchParams.keys()];
  const result = url.searchParams.getAll("result");
  const reason = url.searchParams.getAll("reason");
  const valid = url.href.length <= MAX_URL_LENGTH &&
    keys.every((k) => k === "result" || k === "reason") &&
    result.length === 1 && Object.hasOwn(MESSAGES, result[0]!) &&
    reason.length <= 1 && reason.every((r) => REASONS.has(r));
  if (!valid) return page(INVALID, 400, { "x-error-code": "invalid_request" });
  return page(MESSAGES[result[0]!]!, 200);
}

function page(
  message: { title: string; body: string },
  status: number,
  extra: Record<string, string> = {},
): Response {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${message.title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style>
</head><body><h1>${message.title}</h1><p>${message.body}</p></body></html>`;
  return new Response(html, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
      "x-content-type-options": "nosniff",
      ...extra,
    },
  });
}
