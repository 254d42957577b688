/**
 * calendar-mcp: the calendar tools as a Model Context Protocol server (Streamable HTTP,
 * stateless: every POST is answered on its own, as JSON), on the official SDK. It lists the
 * same tools, with the same JSON Schemas, as calendar-tools, and runs them through the same
 * runner.
 *
 * The user is bound by the transport, never by a tool argument: a bot key or the service
 * credentials name them in the `x-user-id` header; a signed-in user's own token binds them.
 * A tool's refusal is an MCP tool result with `isError: true` and the kit's error JSON
 * (`code`, `message`, ...) as its text, so the model can act on it.
 */

// The low-level Server, not McpServer: the tools publish their own JSON Schemas and answer the
// kit's error codes, rather than the SDK's own validation messages.
import { Server } from "@modelcontextprotocol/sdk/server";
// The SDK's `./*` export maps `x.js` to types at `x.js.d.ts`, which do not exist: name them.
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { CallerVerifier } from "../_google_calendar/caller_auth.ts";
import { AppError, logError } from "../_google_calendar/errors.ts";
import { errorBody, errorResponse } from "../_google_calendar/http.ts";
import { normalizeUserId } from "../_google_calendar/ids.ts";
import { readJsonBody } from "../_google_calendar/request_input.ts";
import { toolCatalog, type ToolRunner } from "../_google_calendar/calendar/runner.ts";

/** The methods calendar-mcp answers (stateless: no GET stream, no session to DELETE). */
export const MCP_METHODS = ["POST"] as const;

/** One JSON-RPC message (or batch) of at most this size. */
export const MAX_MCP_BODY_BYTES = 64 * 1024;

/** What the handler needs, explicitly. */
export interface McpDeps {
  callers: CallerVerifier;
  run: ToolRunner;
}

/** The calendar-mcp handler over `deps`. */
export function createMcpHandler(deps: McpDeps): (req: Request) => Promise<Response> {
  const tools = toolCatalog().map((t) => ({
    name: t.name,
    description: t.description,
    inputSchema: t.input_schema as { type: "object"; [key: string]: unknown },
  }));
  return async (req) => {
    try {
      if (req.method !== "POST") {
        throw new AppError("method_not_allowed", "Use POST (a stateless MCP server).");
      }
      const userId = await boundUser(deps.callers, req);
      const parsedBody = await readJsonBody(req, MAX_MCP_BODY_BYTES);
      if (Array.isArray(parsedBody)) {
        // The SDK would run up to 100 calls of a batch at once, each reaching Google: one request
        // is one message (MCP 2025-06-18 dropped batches; the SDK's clients never send them).
        throw new AppError(
          "invalid_request",
          "Send one JSON-RPC message per request, not a batch.",
        );
      }
      const server = new Server(
        { name: "google-calendar", version: "1.0.0" },
        { capabilities: { tools: {} } },
      );
      server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
      server.setRequestHandler(CallToolRequestSchema, async (request) => {
        try {
          const result = await deps.run(userId, request.params.name, request.params.arguments);
          return {
            content: [{ type: "text" as const, text: JSON.stringify(result) }],
            structuredContent: result as Record<string, unknown>,
          };
        } catch (error) {
          logError("calendar-mcp", error);
          return {
            isError: true,
            content: [{ type: "text" as const, text: JSON.stringify(errorBody(error)) }],
          };
        }
      });
      // No sessionIdGenerator: stateless, each request stands alone (any instance may answer).
      const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true });
      await server.connect(transport);
      return await transport.handleRequest(req, { parsedBody });
    } catch (error) {
      logError("calendar-mcp", error);
      return errorResponse(error, MCP_METHODS);
    }
  };
}

/** The user this connection acts for: `x-user-id` for the bot, the token's own user otherwise. */
async function boundUser(callers: CallerVerifier, req: Request): Promise<string> {
  const caller = await callers.authenticate(req);
  const header = req.headers.get("x-user-id");
  const named = header === null ? undefined : normalizeUserId(header, "x-user-id");
  if (caller.kind === "user") {
    if (named !== undefined && named !== caller.userId) {
      throw new AppError("forbidden", "You can only act for your own account.");
    }
    return caller.userId;
  }
  if (named === undefined) {
    throw new AppError("invalid_request", "x-user-id is required: the user this session acts for.");
  }
  return named;
}
