/**
 * What a calendar tool is: one definition holds its name, the description a language model
 * reads, its zod input schema (validation and the published JSON Schema both come from it), the
 * Google scopes that allow it, and its handler. The HTTP function, the MCP server and skills all
 * run tools through runner.ts; none of them knows a tool's insides.
 */

import type { z } from "zod";

/** What a handler gets besides its input: the user is bound by the caller, never by the model. */
export interface ToolContext {
  readonly userId: string;
  /** googleFetch for this user (path under the API base, or a Google API URL). */
  google(pathOrUrl: string, init?: RequestInit): Promise<Response>;
  /** The scopes the user's grant holds. */
  readonly scopes: readonly string[];
  /** The connected Google account's address, when known. */
  readonly googleEmail: string | null;
  /** Now; tests and benchmarks may fix it. */
  now(): Date;
}

/** One tool. `scopes`: any one of them allows it; the first is the least privilege to ask for. */
export interface CalendarTool<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  readonly input: S;
  readonly scopes: readonly string[];
  run(input: z.output<S>, ctx: ToolContext): Promise<unknown>;
}

/** Declares a tool with its handler typed by its schema. */
export function defineTool<S extends z.ZodType>(tool: CalendarTool<S>): CalendarTool {
  return tool as unknown as CalendarTool;
}
