/**
 * The page the person lands on after consent, served by the local stack only. In production this
 * is the app's own page (GOOGLE_RESULT_PAGE_URL); Supabase would show a function's HTML as text.
 */

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

/** Only known result values are shown; nothing from the request is echoed into the page. */
export function renderResultPage(result: string | null): Response {
  const message = MESSAGES[result ?? ""] ?? MESSAGES.error!;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${message.title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style>
</head><body><h1>${message.title}</h1><p>${message.body}</p></body></html>`;
  return new Response(html, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
      "x-content-type-options": "nosniff",
    },
  });
}
