/**
 * Error bodies of the Calendar API, in the JSON error format of Google APIs: `error.code`,
 * `error.message`, the legacy `error.errors[]` (domain, reason, message) that the Calendar errors
 * guide documents, `error.status` and, where Google's API front end adds one, a
 * `google.rpc.ErrorInfo` in `error.details[]`.
 *
 * @module
 */

/** The Calendar API's service name, as ErrorInfo metadata spells it. */
export const CALENDAR_SERVICE = "calendar-json.googleapis.com";
/** The project number the emulated client lives in (Google shows it in these errors). */
export const PROJECT_NUMBER = "123456789012";

/** Calendar errors the emulator can produce. */
export type CalendarErrorKind =
  | "rateLimitExceeded"
  | "userRateLimitExceeded"
  | "quotaExceeded"
  | "429"
  | "accessNotConfigured"
  | "insufficientPermissions"
  | "authError"
  | "required"
  | "badRequest"
  | "notFound"
  | "deleted"
  | "duplicate"
  | "conditionNotMet"
  | "fullSyncRequired"
  | "timeRangeEmpty";

/** The kinds a test may inject through the faults control. */
export const INJECTABLE_CALENDAR_ERRORS: readonly CalendarErrorKind[] = [
  "rateLimitExceeded",
  "userRateLimitExceeded",
  "quotaExceeded",
  "429",
  "accessNotConfigured",
  "insufficientPermissions",
  "authError",
];

/** A refused input: Google's status, legacy `reason` and message (sent as a `badRequest`). */
export interface InputError {
  status: number;
  reason: string;
  message: string;
}

/** One entry of the legacy `error.errors[]`. */
export interface LegacyErrorItem {
  domain: string;
  reason: string;
  message: string;
  location?: string;
  locationType?: string;
  extendedHelp?: string;
}

/** One entry of `error.details[]`. */
export interface ErrorDetail {
  "@type": string;
  [field: string]: unknown;
}

/** A Google API error body. */
export interface GoogleApiErrorBody {
  error: {
    code: number;
    message: string;
    errors: LegacyErrorItem[];
    /** Absent on 410 answers, which have no canonical status. */
    status?: string;
    details?: ErrorDetail[];
  };
}

/** An error ready to send: status, body and headers. */
export interface GoogleApiError {
  status: number;
  body: GoogleApiErrorBody;
  headers: Record<string, string>;
}

/** Options of {@linkcode calendarError}. */
export interface CalendarErrorOptions {
  /** The message of a `badRequest`. */
  message?: string;
  /** The legacy reason of a `badRequest` (default "badRequest"), e.g. "invalid", "required". */
  reason?: string;
  /** `insufficientPermissions`: the method refused, e.g. "calendar.v3.Events.Insert". */
  method?: string;
  /** `insufficientPermissions`: the scope named in `WWW-Authenticate`. */
  neededScope?: string;
  /** Adds `Retry-After: <seconds>`; Google does not promise this header, so it is opt-in. */
  retryAfterSeconds?: number;
}

const UNAUTHENTICATED_MESSAGE =
  "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie " +
  "or other valid authentication credential. See " +
  "https://developers.google.com/identity/sign-in/web/devconsole-project.";
const MISSING_MESSAGE =
  "Request is missing required authentication credential. Expected OAuth 2 access token, login " +
  "cookie or other valid authentication credential. See " +
  "https://developers.google.com/identity/sign-in/web/devconsole-project.";
const REALM = 'Bearer realm="https://accounts.google.com/"';

/** A `google.rpc.ErrorInfo` detail. */
export function errorInfo(reason: string, metadata: Record<string, string>): ErrorDetail {
  return {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    reason,
    domain: "googleapis.com",
    metadata: { service: CALENDAR_SERVICE, ...metadata },
  };
}

/** Builds the error Google's Calendar API answers for `kind`. */
export function calendarError(
  kind: CalendarErrorKind,
  options: CalendarErrorOptions = {},
): GoogleApiError {
  const headers: Record<string, string> = {};
  if (options.retryAfterSeconds !== undefined) {
    headers["retry-after"] = String(options.retryAfterSeconds);
  }
  const build = (
    code: number,
    status: string | undefined,
    message: string,
    item: LegacyErrorItem,
    details?: ErrorDetail[],
  ): GoogleApiError => {
    const error: GoogleApiErrorBody["error"] = { code, message, errors: [item] };
    if (status !== undefined) error.status = status;
    if (details !== undefined) error.details = details;
    return { status: code, body: { error }, headers };
  };
  const rateInfo = (limit: string) =>
    errorInfo("RATE_LIMIT_EXCEEDED", {
      consumer: `projects/${PROJECT_NUMBER}`,
      quota_metric: `${CALENDAR_SERVICE}/default`,
      quota_limit: limit,
      quota_location: "global",
    });
  switch (kind) {
    case "rateLimitExceeded":
      return build(403, "PERMISSION_DENIED", "Rate Limit Exceeded", {
        domain: "usageLimits",
        reason: "rateLimitExceeded",
        message: "Rate Limit Exceeded",
      }, [rateInfo("defaultPerMinutePerProject")]);
    case "userRateLimitExceeded":
      return build(403, "PERMISSION_DENIED", "User Rate Limit Exceeded", {
        domain: "usageLimits",
        reason: "userRateLimitExceeded",
        message: "User Rate Limit Exceeded",
      }, [rateInfo("defaultPerMinutePerUser")]);
    case "quotaExceeded":
      // A Calendar usage limit (not a Cloud quota), so no ErrorInfo is attached.
      return build(403, "PERMISSION_DENIED", "Calendar usage limits exceeded.", {
        domain: "usageLimits",
        reason: "quotaExceeded",
        message: "Calendar usage limits exceeded.",
      });
    case "429":
      return build(429, "RESOURCE_EXHAUSTED", "Rate Limit Exceeded", {
        domain: "usageLimits",
        reason: "rateLimitExceeded",
        message: "Rate Limit Exceeded",
      }, [rateInfo("defaultPerMinutePerUser")]);
    case "accessNotConfigured": {
      const activation =
        `https://console.developers.google.com/apis/api/${CALENDAR_SERVICE}/overview?project=${PROJECT_NUMBER}`;
      const message = `Google Calendar API has not been used in project ${PROJECT_NUMBER} ` +
        `before or it is disabled. Enable it by visiting ${activation} then retry. If you ` +
        "enabled this API recently, wait a few minutes for the action to propagate to our " +
        "systems and retry.";
      return build(403, "PERMISSION_DENIED", message, {
        domain: "usageLimits",
        reason: "accessNotConfigured",
        message,
        extendedHelp: "https://console.developers.google.com",
      }, [
        errorInfo("SERVICE_DISABLED", {
          consumer: `projects/${PROJECT_NUMBER}`,
          activationUrl: activation,
          serviceTitle: "Google Calendar API",
          containerInfo: PROJECT_NUMBER,
        }),
        {
          "@type": "type.googleapis.com/google.rpc.Help",
          links: [{ description: "Google developers console API activation", url: activation }],
        },
      ]);
    }
    case "insufficientPermissions": {
      const scope = options.neededScope ??
        "https://www.googleapis.com/auth/calendar.events.readonly";
      headers["www-authenticate"] = `${REALM}, error="insufficient_scope", scope="${scope}"`;
      return build(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.", {
        domain: "global",
        reason: "insufficientPermissions",
        message: "Insufficient Permission",
      }, [
        errorInfo("ACCESS_TOKEN_SCOPE_INSUFFICIENT", {
          method: options.method ?? "calendar.v3.Events.List",
        }),
      ]);
    }
    case "authError":
      headers["www-authenticate"] = `${REALM}, error="invalid_token"`;
      return build(401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE, {
        domain: "global",
        reason: "authError",
        message: "Invalid Credentials",
        locationType: "header",
        location: "Authorization",
      });
    case "required":
      headers["www-authenticate"] = REALM;
      return build(401, "UNAUTHENTICATED", MISSING_MESSAGE, {
        domain: "global",
        reason: "required",
        message: "Login Required.",
        locationType: "header",
        location: "Authorization",
      });
    case "badRequest": {
      const message = options.message ?? "Bad Request";
      return build(400, "INVALID_ARGUMENT", message, {
        domain: "global",
        reason: options.reason ?? "badRequest",
        message,
      });
    }
    // https://developers.google.com/calendar/api/guides/errors (404, 409, 410, 412)
    case "notFound":
      return build(404, "NOT_FOUND", "Not Found", {
        domain: "global",
        reason: "notFound",
        message: "Not Found",
      });
    case "deleted":
      return build(410, undefined, "Resource has been deleted", {
        domain: "global",
        reason: "deleted",
        message: "Resource has been deleted",
      });
    case "duplicate":
      return build(409, "ALREADY_EXISTS", "The requested identifier already exists.", {
        domain: "global",
        reason: "duplicate",
        message: "The requested identifier already exists.",
      });
    case "conditionNotMet":
      return build(412, "FAILED_PRECONDITION", "Precondition Failed", {
        domain: "global",
        reason: "conditionNotMet",
        message: "Precondition Failed",
        locationType: "header",
        location: "If-Match",
      });
    // Google's own body for an empty range (events.list, freebusy.query, an event ending before
    // it starts): domain "calendar", not "global", naming timeMax. Real answers quoted in
    // https://github.com/kewisch/gdata-provider/issues/12 and, for timeMin equal to timeMax,
    // https://github.com/googleworkspace/add-ons-samples/issues/34
    case "timeRangeEmpty":
      return build(400, "INVALID_ARGUMENT", "The specified time range is empty.", {
        domain: "calendar",
        reason: "timeRangeEmpty",
        message: "The specified time range is empty.",
        locationType: "parameter",
        location: "timeMax",
      });
    case "fullSyncRequired":
      return build(410, undefined, "Sync token is no longer valid, a full sync is required.", {
        domain: "global",
        reason: "fullSyncRequired",
        message: "Sync token is no longer valid, a full sync is required.",
      });
  }
}

/** The error as an HTTP response. */
export function calendarErrorResponse(
  kind: CalendarErrorKind,
  options: CalendarErrorOptions = {},
): Response {
  const { status, body, headers } = calendarError(kind, options);
  return Response.json(body, { status, headers });
}
