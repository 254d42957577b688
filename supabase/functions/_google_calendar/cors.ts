/**
 * CORS for a signed-in user's browser calling the per-user functions from the app's own origins
 * (ALLOWED_ORIGINS). Off by default: the bot calls server to server and needs none of it.
 */

const ALLOW_HEADERS = "authorization, apikey, content-type, x-client-info";

/**
 * Wraps `handler`: a preflight from an allowed origin gets 204; answers to an allowed origin
 * carry Access-Control-Allow-Origin. Other origins get no CORS headers (the browser blocks them),
 * and their preflights reach the handler, which refuses the method.
 */
export function withCors(
  handler: (req: Request) => Promise<Response>,
  options: { allowedOrigins: readonly string[]; methods: readonly string[] },
): (req: Request) => Promise<Response> {
  if (options.allowedOrigins.length === 0) return handler;
  return async (req) => {
    const origin = req.headers.get("origin");
    const allowed = origin !== null && options.allowedOrigins.includes(origin);
    if (allowed && req.method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": options.methods.join(", "),
          "access-control-allow-headers": ALLOW_HEADERS,
          "access-control-max-age": "600",
          "cache-control": "no-store",
          vary: "Origin",
        },
      });
    }
    const response = await handler(req);
    if (!allowed) return response;
    const headers = new Headers(response.headers);
    headers.set("access-control-allow-origin", origin);
    headers.append("vary", "Origin");
    return new Response(response.body, { status: response.status, headers });
  };
}
