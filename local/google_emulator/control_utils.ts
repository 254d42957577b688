/** What every test control shares: the refusal type and reading an email from a body. */

import { normaliseEmail } from "./http.ts";
import type { EmulatorState } from "./state.ts";

/** A control's JSON body. */
export type ControlBody = Record<string, unknown>;

/** A POST control: its answer is sent as JSON, or as is when it is a `Response`. */
export type PostControl = (state: EmulatorState, body: ControlBody) => unknown | Promise<unknown>;

/** A control refused its body; HTTP answers it as 400 `{error}`. */
export class ControlError extends Error {
  override name = "ControlError";
}

/** Refuses the control's body. */
export function bad(message: string): never {
  throw new ControlError(message);
}

/** The body's `email`, normalised; refuses a missing one. */
export function emailOf(body: ControlBody): string {
  if (typeof body.email !== "string" || body.email.trim() === "") bad("email is required");
  return normaliseEmail(body.email);
}
