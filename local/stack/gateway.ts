/**
 * The local API gateway: Supabase's URL shapes on one port, as Kong gives them on a project.
 *   /rest/v1/*                      → PostgREST
 *   /functions/v1/<name>[/...]      → that function's process
 *   /auth/v1/.well-known/jwks.json  → the public key that verifies user access tokens
 *   /auth/v1/user                   → the signed-in user behind a token (auth_user.ts)
 *   /google-calendar/result         → the page the callback sends the person to (local only)
 */

import type { JWK } from "jose";
import { renderResultPage } from "./result_page.ts";

export interface GatewayRoutes {
  postgrestPort: number;
  functionPort(name: string): number | undefined;
  jwks: { keys: JWK[] };
  /** Auth's `GET /auth/v1/user` (auth_user.ts); 404 without it. */
  authUser?: (req: Request) => Promise<Response>;
}

// Hop-by-hop headers are the connection's, not the message's (RFC 9110 §7.6.1).
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "host",
];

export function createGatewayHandler(routes: GatewayRoutes): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    if (url.pathname.startsWith("/rest/v1/") || url.pathname === "/rest/v1") {
      const rest = url.pathname.slice("/rest/v1".length) || "/";
      return await forward(req, `http://127.0.0.1:${routes.postgrestPort}${rest}${url.search}`);
    }
    const fn = url.pathname.match(/^\/functions\/v1\/([a-z0-9_-]+)(\/.*)?$/);
    if (fn) {
      const port = routes.functionPort(fn[1]!);
      if (port === undefined) return json(404, { code: "NOT_FOUND", message: "No such function" });
      return await forward(req, `http://127.0.0.1:${port}${url.pathname}${url.search}`);
    }
    if (url.pathname === "/auth/v1/.well-known/jwks.json") {
      return json(200, routes.jwks, { "cache-control": "public, max-age=600" });
    }
    if (url.pathname === "/auth/v1/user" && routes.authUser) return await routes.authUser(req);
    if (url.pathname === "/google-calendar/result") {
      return renderResultPage(req.method, url);
    }
    return json(404, { code: "NOT_FOUND", message: "No route" });
  };
}

async function forward(req: Request, target: string): Promise<Response> {
  const headers = new Headers(req.headers);
  for (const h of HOP_BY_HOP) headers.delete(h);
  headers.set("x-forwarded-host", new URL(req.url).host);
  headers.set("x-forwarded-proto", "http");
  try {
    const upstream = await fetch(target, {
      method: req.method,
      headers,
      body: req.body,
      redirect: "manual",
    });
    const out = new Headers(upstream.headers);
    for (const h of HOP_BY_HOP) out.delete(h);
    return new Response(upstream.body, { status: upstream.status, headers: out });
  } catch {
    // Like Kong when the upstream is down: a 502, no details.
    return json(502, { code: "BAD_GATEWAY", message: "Upstream is not answering" });
  }
}

function json(status: number, body: unknown, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...extra },
  });
}
