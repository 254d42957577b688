/** Response helpers shared by every function: JSON answers, JSON errors, and the headers on both. */

import { type AppError, toAppError } from "./errors.ts";

/** Nothing here may be cached or leak the URL (which may hold a code or a state) onwards. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
});

/** `body` as JSON with `status`, the security headers and any extra `headers`. */
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

/**
 * `{ code, message }` with the error's status and an `x-error-code` header, so callers can branch
 * on one header whatever the body. 405s say which methods are allowed; 429s say when to retry.
 * Anything that is not an AppError is answered as `internal_error`, never with its message.
 */
export function errorResponse(error: unknown, allow?: readonly string[]): Response {
  const app: AppError = toAppError(error);
  const extra: Record<string, string> = { "x-error-code": app.code };
  if (app.code === "method_not_allowed" && allow) extra.allow = allow.join(", ");
  if (app.code === "unauthorized") extra["www-authenticate"] = 'Bearer realm="google-calendar"';
  if (app.retryAfterSeconds !== undefined) extra["retry-after"] = String(app.retryAfterSeconds);
  return jsonResponse(app.status, errorBody(app), extra);
}

/**
 * The JSON of an error answer: `{ code, message }`, `retry_after_seconds` when Google said when,
 * and the error's details (`field`, `needed_scopes`). Also what an MCP tool error carries.
 */
export function errorBody(error: unknown): Record<string, unknown> {
  const app = toAppError(error);
  const body: Record<string, unknown> = { ...app.details, code: app.code, message: app.message };
  if (app.retryAfterSeconds !== undefined) body.retry_after_seconds = app.retryAfterSeconds;
  return body;
}
