/**
 * Idempotent creation: the event id is derived from the user, the calendar and the caller's
 * `request_id`, so a retried create asks Google for the same id and Google's 409 tells us it
 * already exists. Google's client ids use base32hex (a-v, 0-9), 5 to 1024 characters:
 * https://developers.google.com/workspace/calendar/api/v3/reference/events/insert
 */

const BASE32HEX = "0123456789abcdefghijklmnopqrstuv";

/** Base32hex of `bytes` (lowercase, no padding), as Google's event ids are written. */
export function base32hex(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32HEX[(buffer << (5 - bits)) & 31];
  return out;
}

/** The event id for one create intent: 32 base32hex characters of a SHA-256 (160 bits). */
export async function eventIdFor(
  userId: string,
  calendarId: string,
  requestId: string,
): Promise<string> {
  const data = new TextEncoder().encode(`create_event\n${userId}\n${calendarId}\n${requestId}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return base32hex(digest.subarray(0, 20));
}
