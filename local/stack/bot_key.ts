/**
 * The local stack's BOT_API_KEYS value: one key, derived from the stack's JWT secret so that it
 * stays the same across restarts of one stack folder without a new field in secrets.json.
 */

/** HMAC-SHA-256 of a label under the stack's JWT secret, hex (64 characters). */
export async function localBotApiKey(jwtSecret: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(jwtSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("local bot api key"));
  return `bot_${[...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}
