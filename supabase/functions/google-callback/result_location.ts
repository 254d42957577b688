/**
 * Where google-callback sends the person after consent: GOOGLE_RESULT_PAGE_URL with `result` (and
 * `reason`) in its query, or, when that URL is a chat link, back to the chat with the result where
 * that kind of link carries one:
 *
 * - WhatsApp click-to-chat (`https://wa.me/<number>`, `https://api.whatsapp.com/send?phone=…`):
 *   a prefilled message in `text`, which the person sends (https://faq.whatsapp.com/5913398998672934);
 * - Telegram (`https://t.me/<bot>`): the `start` parameter, which the bot receives as
 *   `/start gcal_<result>` (https://core.telegram.org/bots/features#deep-linking; letters,
 *   digits, `_` and `-` only).
 *
 * The bot learns the outcome from the webhook either way; the message tells the person's chat
 * what happened, in words the bot can also match (`[google_calendar result=…]`).
 */

/** What the person is told. */
export type ConsentResult =
  | "connected"
  | "denied"
  | "partial"
  | "expired"
  | "error";

/** The message the person sends back to the chat, per result. */
export const CHAT_TEXT: Readonly<Record<ConsentResult, string>> = Object.freeze(
  {
    connected: "I connected my Google Calendar.",
    denied: "I did not give access to my Google Calendar.",
    partial: "I signed in with Google but did not give access to my calendar.",
    expired: "My Google Calendar link had expired. Please send me a new one.",
    error: "Connecting my Google Calendar did not work. Please send me a new link.",
  },
);

const WHATSAPP_HOSTS = new Set(["wa.me", "api.whatsapp.com"]);
const TELEGRAM_HOSTS = new Set(["t.me", "telegram.me"]);

/** The kind of link GOOGLE_RESULT_PAGE_URL is. */
export function linkKind(url: URL): "whatsapp" | "telegram" | "page" {
  if (WHATSAPP_HOSTS.has(url.hostname)) return "whatsapp";
  if (TELEGRAM_HOSTS.has(url.hostname)) return "telegram";
  return "page";
}

/** The URL the person is sent to for `outcome`, built on `resultPageUrl`. */
export function resultLocation(
  resultPageUrl: string,
  outcome: { result: ConsentResult; reason?: string | undefined },
): URL {
  const location = new URL(resultPageUrl);
  switch (linkKind(location)) {
    case "whatsapp": {
      const tag = `[google_calendar result=${outcome.result}` +
        (outcome.reason ? ` reason=${outcome.reason}` : "") + "]";
      // Replaces a `text` the operator put there: the link's message is the result. Encoded
      // with %20, as WhatsApp's own examples are, not the form encoding's `+`.
      location.searchParams.delete("text");
      const rest = location.searchParams.toString();
      const text = encodeURIComponent(`${CHAT_TEXT[outcome.result]} ${tag}`);
      location.search = `${rest ? `${rest}&` : ""}text=${text}`;
      return location;
    }
    case "telegram":
      location.searchParams.set("start", `gcal_${outcome.result}`);
      return location;
    case "page":
      location.searchParams.set("result", outcome.result);
      if (outcome.reason) location.searchParams.set("reason", outcome.reason);
      return location;
  }
}
