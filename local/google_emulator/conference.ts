/**
 * `conferenceData.createRequest` → a Google Meet conference, as events.insert/patch answer it
 * with `conferenceDataVersion=1`: the request settles at once with status `success`, and the
 * event gets `conferenceData` (entry point, solution, conferenceId) and `hangoutLink`.
 * https://developers.google.com/calendar/api/v3/reference/events#conferenceData
 * https://developers.google.com/calendar/api/guides/create-events#conferencing
 *
 * @module
 */

import type { InputError } from "./calendar_errors.ts";

/** Conference solutions an emulated calendar allows (calendar.conferenceProperties). */
export const ALLOWED_CONFERENCE_TYPES = ["hangoutsMeet"] as const;

/** The settled conference, or the refusal. */
export type ConferenceResult =
  | { conferenceData: Record<string, unknown>; hangoutLink?: string }
  | InputError;

const bad = (message: string): InputError => ({ status: 400, reason: "invalid", message });

/** Settles a `createRequest`; conference data without one is kept as given. */
export function conferenceFor(value: unknown, existing: unknown): ConferenceResult {
  if (typeof value !== "object" || value === null) return bad("Invalid conference data.");
  const data = value as Record<string, unknown>;
  const request = data.createRequest as Record<string, unknown> | undefined;
  if (request === undefined) {
    const link = meetLinkOf(data);
    return link === undefined
      ? { conferenceData: data }
      : { conferenceData: data, hangoutLink: link };
  }
  if (typeof request.requestId !== "string" || request.requestId === "") {
    return bad("Invalid conference create request: missing requestId.");
  }
  const type = (request.conferenceSolutionKey as { type?: unknown } | undefined)?.type;
  if (!ALLOWED_CONFERENCE_TYPES.includes(type as "hangoutsMeet")) {
    return bad("Invalid conference type value.");
  }
  // The same requestId again is the same request: the conference it made stays.
  const previous = existing as Record<string, unknown> | undefined;
  const previousRequest = previous?.createRequest as { requestId?: string } | undefined;
  if (previous !== undefined && previousRequest?.requestId === request.requestId) {
    const link = meetLinkOf(previous);
    return link === undefined
      ? { conferenceData: previous }
      : { conferenceData: previous, hangoutLink: link };
  }
  const conferenceId = meetCode();
  const uri = `https://meet.google.com/${conferenceId}`;
  return {
    conferenceData: {
      createRequest: {
        requestId: request.requestId,
        conferenceSolutionKey: { type: "hangoutsMeet" },
        status: { statusCode: "success" },
      },
      entryPoints: [{ entryPointType: "video", uri, label: `meet.google.com/${conferenceId}` }],
      conferenceSolution: {
        key: { type: "hangoutsMeet" },
        name: "Google Meet",
        iconUri:
          "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
      },
      conferenceId,
    },
    hangoutLink: uri,
  };
}

function meetLinkOf(data: Record<string, unknown>): string | undefined {
  const points = Array.isArray(data.entryPoints) ? data.entryPoints : [];
  const video = points.find((point) =>
    (point as { entryPointType?: unknown }).entryPointType === "video"
  ) as { uri?: unknown } | undefined;
  return typeof video?.uri === "string" && video.uri.startsWith("https://meet.google.com/")
    ? video.uri
    : undefined;
}

/** A Meet code: `abc-defg-hij`. */
function meetCode(): string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  const chars = [...bytes].map((byte) => letters[byte % 26]).join("");
  return `${chars.slice(0, 3)}-${chars.slice(3, 7)}-${chars.slice(7)}`;
}
