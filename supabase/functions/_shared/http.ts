/** Response helpers shared by every function: JSON errors and the headers on every answer. */

import { type AppError, toAppError } from "./errors.ts";

/** Nothing here may be cached or leak the URL (which may hold a code or a state) onwards. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
});

export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** `{ code, message }` with the error's status; 405s also say which methods are allowed. */
export function errorResponse(error: unknown, allow?: readonly string[]): Response {
  const app: AppError = toAppError(error);
  const extra: Record<string, string> = {};
  if (app.code === "method_not_allowed" && allow) extra.allow = allow.join(", ");
  if (app.code === "unauthorized") extra["www-authenticate"] = 'Bearer realm="google-calendar"';
  return jsonResponse(app.status, { code: app.code, message: app.message }, extra);
}
