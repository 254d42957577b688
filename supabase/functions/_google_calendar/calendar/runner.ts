/**
 * Running a tool for a user: validate the input (nothing reaches Google when it is wrong), read
 * the user's token once, check the grant's scopes, then call the handler with a googleFetch
 * bound to that user and that token. Errors are AppErrors with codes a model can act on.
 */

import { z } from "zod";
import type { AccessTokenProvider, GoogleAccessToken } from "../access_token.ts";
import type { Core } from "../core.ts";
import { AppError, isAppError } from "../errors.ts";
import { createGoogleFetch } from "../google_fetch.ts";
import type { CalendarTool, ToolContext } from "./tool.ts";
import { CALENDAR_TOOLS } from "./registry.ts";

/** What running tools needs, explicitly (from the core). */
export interface ToolRunnerDeps {
  accessTokens: Pick<AccessTokenProvider, "getGoogleAccessToken" | "renew">;
  apiBaseUrl: string;
  timeoutMs: number;
  fetch?: typeof fetch;
  now?: () => Date;
}

/** Runs `tool` (by name) for `userId` with an untrusted `input`. */
export type ToolRunner = (userId: string, tool: string, input: unknown) => Promise<unknown>;

/** The runner over a function's core. */
export function toolRunnerFor(core: Pick<Core, "accessTokens" | "config">): ToolRunner {
  return createToolRunner({
    accessTokens: core.accessTokens,
    apiBaseUrl: core.config.google.apiBaseUrl,
    timeoutMs: core.config.httpTimeoutMs,
  });
}

/** A token handed out again within one tool call while it has this much life left. */
const REUSE_MARGIN_MS = 60_000;

/** Builds the runner over `deps`. */
export function createToolRunner(deps: ToolRunnerDeps): ToolRunner {
  const now = deps.now ?? (() => new Date());
  return async (userId, name, rawInput) => {
    const tool = findTool(name);
    const input = parseInput(tool, rawInput);
    const token = await deps.accessTokens.getGoogleAccessToken(userId);
    if (!tool.scopes.some((s) => token.scopes.includes(s))) throw scopeMissing(tool);
    const ctx: ToolContext = {
      userId,
      google: boundFetch(deps, userId, token),
      scopes: token.scopes,
      googleEmail: token.googleEmail ?? null,
      now,
    };
    try {
      return await tool.run(input, ctx);
    } catch (error) {
      // Google said a scope is missing (the stored list may be older than the grant).
      if (isAppError(error, "google_scope_missing")) throw scopeMissing(tool, error);
      throw error;
    }
  };
}

/** The tool named `name`, or unknown_tool listing the names. */
export function findTool(name: string): CalendarTool {
  const tool = CALENDAR_TOOLS.find((t) => t.name === name);
  if (!tool) {
    throw new AppError(
      "unknown_tool",
      `No tool ${JSON.stringify(name.slice(0, 64))}; use one of ${
        CALENDAR_TOOLS.map((t) => t.name).join(", ")
      }.`,
    );
  }
  return tool;
}

/** `raw` checked against the tool's schema; the first problem names its field. */
export function parseInput(tool: CalendarTool, raw: unknown): unknown {
  const parsed = tool.input.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
  const field = [...issue.path.map(String), ...keys.slice(0, 1)].join(".") || "input";
  const code = (issue as { params?: { code?: unknown } }).params?.code === "invalid_time_range"
    ? "invalid_time_range"
    : "invalid_input";
  const message = issue.code === "unrecognized_keys"
    ? `${field} is not a field of ${tool.name}; see its input schema.`
    : `${field}: ${issue.message}`;
  return throwInput(code, message.slice(0, 300), field);
}

function throwInput(code: "invalid_input" | "invalid_time_range", message: string, field: string) {
  throw new AppError(code, message, { details: { field } });
}

function scopeMissing(tool: CalendarTool, cause?: unknown): AppError {
  const needed = [tool.scopes[0]!];
  return new AppError(
    "google_scope_missing",
    `${tool.name} needs more Google access: send a google-connect link with scopes=${needed[0]}.`,
    { details: { needed_scopes: needed }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** googleFetch for one user that starts from the token already read for the scope check. */
function boundFetch(deps: ToolRunnerDeps, userId: string, first: GoogleAccessToken) {
  let held: GoogleAccessToken = first;
  const googleFetch = createGoogleFetch({
    tokens: {
      getGoogleAccessToken: async (id) => {
        const left = held.expiresAt === null ? Infinity : held.expiresAt.getTime() - Date.now();
        if (left > REUSE_MARGIN_MS) return held;
        held = await deps.accessTokens.getGoogleAccessToken(id);
        return held;
      },
      renew: async (id, options) => {
        held = await deps.accessTokens.renew(id, options);
        return held;
      },
    },
    apiBaseUrl: deps.apiBaseUrl,
    timeoutMs: deps.timeoutMs,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  return (pathOrUrl: string, init?: RequestInit) => googleFetch(userId, pathOrUrl, init);
}

/** The published catalogue: each tool's name, description and JSON Schema of its input. */
export function toolCatalog(): { name: string; description: string; input_schema: unknown }[] {
  return CALENDAR_TOOLS.map((tool) => ({
    name: tool.name,
    description: tool.description,
    input_schema: inputJsonSchema(tool),
  }));
}

const schemas = new Map<string, Record<string, unknown>>();

/** The JSON Schema of a tool's input, as a client sends it (defaults optional); computed once. */
export function inputJsonSchema(tool: CalendarTool): Record<string, unknown> {
  let schema = schemas.get(tool.name);
  if (!schema) {
    schema = z.toJSONSchema(tool.input, { io: "input" }) as Record<string, unknown>;
    schemas.set(tool.name, schema);
  }
  return schema;
}
