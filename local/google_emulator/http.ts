/** Response builders and request readers shared by the endpoint modules. */

import { renderErrorPage } from "./consent_page.ts";

/** JSON with the cache headers Google's OAuth server sends on token answers. */
export function noStoreJson(body: unknown, status: number): Response {
  return Response.json(body, {
    status,
    headers: { "cache-control": "no-store", pragma: "no-cache" },
  });
}

/** An RFC 6749 §5.2 error body. */
export function oauthError(status: number, error: string, description: string): Response {
  return noStoreJson({ error, error_description: description }, status);
}

/** 400 `invalid_grant`. */
export function invalidGrant(description: string): Response {
  return oauthError(400, "invalid_grant", description);
}

/** Google's HTML "Error <status>: <code>" page, shown instead of a redirect. */
export function errorPage(error: string, description: string, status = 400): Response {
  return new Response(renderErrorPage(error, description, status), {
    status,
    headers: { "content-type": "text/html; charset=utf-8" },
  });
}

/** 302 to `target` with the defined params appended. */
export function redirectWith(target: string, params: Record<string, string | undefined>): Response {
  const url = new URL(target);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.append(name, value);
  }
  return new Response(null, { status: 302, headers: { location: url.href } });
}

/** The form body, or undefined when the request is not form-encoded. */
export async function readForm(req: Request): Promise<URLSearchParams | undefined> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/x-www-form-urlencoded")) return undefined;
  return new URLSearchParams(await req.text());
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
export function decodeBasic(encoded: string): { id: string; secret: string } | undefined {
  try {
    const decoded = atob(encoded);
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    const unescape = (part: string) => decodeURIComponent(part.replaceAll("+", " "));
    return { id: unescape(decoded.slice(0, colon)), secret: unescape(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

/** Emails compare case-insensitively, like Google accounts. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A finite number above zero. */
export function isPositiveNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}
