/** Identifiers: one definition of what a user id looks like, and its one canonical form. */

import { AppError } from "./errors.ts";

/** A UUID in its canonical text form, in either case. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is a UUID in canonical text form (either case). */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID_PATTERN.test(value);
}

/**
 * The canonical (lower-case) form of a user id, as Postgres prints a uuid. Every entry point
 * normalises, so `6F1C…` and `6f1c…` are one user everywhere. Throws `invalid_request`.
 */
export function normalizeUserId(value: string, name = "user_id"): string {
  if (!isUuid(value)) throw new AppError("invalid_request", `${name} must be a UUID.`);
  return value.toLowerCase();
}
