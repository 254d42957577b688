/**
 * Calling the calendar tools as the bot does: over plain HTTP (calendar-tools, bot key) and over
 * MCP (calendar-mcp, the official SDK client, the user bound by x-user-id). And counting the
 * emulator's Calendar API calls, to show that refused input reaches no Google.
 */

import { Client } from "@modelcontextprotocol/sdk/client";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { client, stack } from "./stack.ts";

/** The bot's key on this stack. */
export const BOT_KEY = stack.function_env?.BOT_API_KEYS?.split(",")[0] ?? "";

/** A tool call's answer over HTTP: the status and the JSON body. */
export interface ToolAnswer {
  status: number;
  body: Record<string, unknown> & { result?: Record<string, unknown> };
}

/** POST calendar-tools `{ user_id, tool, input }` with the bot key. */
export async function callTool(userId: string, tool: string, input: unknown): Promise<ToolAnswer> {
  const res = await fetch(`${stack.functions_url}/calendar-tools`, {
    method: "POST",
    headers: { authorization: `Bearer ${BOT_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ user_id: userId, tool, input }),
  });
  return { status: res.status, body: await res.json() };
}

/** A tool's result over HTTP, asserting a 200. */
export async function toolResult(
  userId: string,
  tool: string,
  input: unknown,
  // deno-lint-ignore no-explicit-any
): Promise<Record<string, any>> {
  const { status, body } = await callTool(userId, tool, input);
  if (status !== 200) throw new Error(`${tool} answered ${status}: ${JSON.stringify(body)}`);
  return body.result!;
}

/** An MCP client connected to calendar-mcp for `userId` (the bot's key, x-user-id). */
export async function mcpClient(userId: string, headers: Record<string, string> = {}) {
  const mcp = new Client({ name: "calendar-tools-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(
    new URL(`${stack.functions_url}/calendar-mcp`),
    {
      requestInit: {
        headers: { authorization: `Bearer ${BOT_KEY}`, "x-user-id": userId, ...headers },
      },
    },
  );
  await mcp.connect(transport);
  return mcp;
}

/** A tool's result over MCP: the parsed JSON text, and whether it is an error. */
export async function mcpCall(
  mcp: Client,
  name: string,
  args: Record<string, unknown>,
  // deno-lint-ignore no-explicit-any
): Promise<{ isError: boolean; data: Record<string, any> }> {
  const answer = await mcp.callTool({ name, arguments: args });
  const content = answer.content as { type: string; text: string }[];
  return { isError: answer.isError === true, data: JSON.parse(content[0]!.text) };
}

/** Every Calendar API call the emulator has answered so far (by method, errors included). */
export async function googleApiCalls(): Promise<number> {
  const stats = await client.stats() as unknown as {
    calendarCalls?: Record<string, { ok: number; error: number }>;
    eventsCalls: { ok: number; error: number };
    faultsServed: Record<string, number>;
  };
  const calls = stats.calendarCalls
    ? Object.values(stats.calendarCalls).reduce((n, c) => n + c.ok + c.error, 0)
    : stats.eventsCalls.ok + stats.eventsCalls.error;
  return calls + (stats.faultsServed.events ?? 0);
}

/** One tool call through either door: the result, or the error JSON. */
export type Door = "http" | "mcp";

/** Calls tools for one user through one door; `close` when done. */
export async function toolCaller(door: Door, userId: string) {
  const mcp = door === "mcp" ? await mcpClient(userId) : null;
  return {
    // deno-lint-ignore no-explicit-any
    async call(tool: string, input: Record<string, unknown>): Promise<Record<string, any>> {
      if (mcp) {
        const { isError, data } = await mcpCall(mcp, tool, input);
        return isError ? { error: data } : data;
      }
      const { status, body } = await callTool(userId, tool, input);
      return status === 200 ? body.result! : { error: body };
    },
    async close() {
      await mcp?.close();
    },
  };
}
