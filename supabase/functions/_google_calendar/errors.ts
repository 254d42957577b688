/**
 * One error type for the whole kit: a stable `code` callers can branch on, the HTTP status it
 * maps to, a human message that is safe to show, and the cause for our own logs only.
 */

export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  user_not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  state_invalid: 400,
  state_expired: 400,
  flow_not_found: 400,
  consent_denied: 400,
  google_error: 502,
  google_account_mismatch: 400,
  google_scope_missing: 400,
  google_refresh_token_missing: 400,
  google_not_connected: 404,
  google_reconnect_required: 409,
  google_rate_limited: 429,
  google_api_disabled: 502,
  google_client_misconfigured: 502,
  google_unavailable: 503,
  database_unavailable: 503,
  auth_unavailable: 503,
  internal_error: 500,
  // The calendar tools (calendar/): refusals a model can act on.
  invalid_input: 400,
  invalid_time_range: 400,
  unknown_tool: 404,
  event_not_found: 404,
  calendar_conflict: 409,
  calendar_access_denied: 403,
  not_an_attendee: 400,
} as const;

/** Every error code the kit answers with; callers branch on these, never on messages. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** Codes that are the operator's to fix (configuration at Google), not the person's or the bot's. */
export const OPERATOR_ERROR_CODES: ReadonlySet<ErrorCode> = new Set([
  "google_api_disabled",
  "google_client_misconfigured",
]);

/** The kit's one error type: a stable code, its HTTP status, a safe message, a private cause. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** For `google_rate_limited`: how long to wait before trying again, when Google said. */
  readonly retryAfterSeconds: number | undefined;
  /** Extra fields for the answer, e.g. `field` (invalid_input), `needed_scopes`. Never secret. */
  readonly details: Readonly<Record<string, string | readonly string[]>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      cause?: unknown;
      retryAfterSeconds?: number;
      details?: Record<string, string | readonly string[]>;
    } = {},
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
  }
}

/** True when `error` is an AppError (with `code`, when given). */
export function isAppError(error: unknown, code?: ErrorCode): error is AppError {
  return error instanceof AppError && (code === undefined || error.code === code);
}

/** Anything that is not an AppError becomes an internal_error with a generic message. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError("internal_error", "Something went wrong on our side.", { cause: error });
}

/**
 * Logs `error` for `where` without secrets: error level for server faults and operator errors
 * (an alert should fire), nothing for the caller's own mistakes.
 */
export function logError(where: string, error: unknown): void {
  const app = toAppError(error);
  if (app.status >= 500 || OPERATOR_ERROR_CODES.has(app.code)) {
    console.error(`${where}: ${describeForLog(app)}`);
  }
}

/**
 * A log line about an error with no secrets in it: our code and the cause's class and code
 * only, never an upstream message (which may quote a token or an authorization code).
 */
export function describeForLog(error: unknown): string {
  const app = toAppError(error);
  const cause = app.cause as { name?: unknown; code?: unknown } | undefined;
  const parts = [`code=${app.code}`];
  if (cause && typeof cause === "object") {
    if (typeof cause.name === "string") parts.push(`cause=${cause.name}`);
    if (typeof cause.code === "string") parts.push(`cause_code=${cause.code}`);
  }
  return parts.join(" ");
}
