/**
 * The calendar tools over real HTTP (calendar-tools) and MCP (calendar-mcp, the official SDK
 * client), against the Google emulator: one catalogue, schemas that compile in ajv and never
 * name a user, the user bound by the transport, and each tool's answers.
 */

import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { client, connectedUser, emulatorControl, stack, userToken } from "./support/stack.ts";
import { BOT_KEY, callTool, mcpCall, mcpClient, toolResult } from "./support/calendar_tools.ts";

const TOOL_NAMES = [
  "get_calendar_context",
  "list_events",
  "get_event",
  "create_event",
  "update_event",
  "delete_event",
  "respond_to_event",
  "find_free_slots",
];

async function catalogue(): Promise<
  { name: string; description: string; input_schema: Record<string, unknown> }[]
> {
  const res = await fetch(`${stack.functions_url}/calendar-tools`, {
    headers: { authorization: `Bearer ${BOT_KEY}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).tools;
}

Deno.test("calendar-tools: GET lists every tool with a description and a schema that compiles in ajv", async () => {
  const tools = await catalogue();
  assert.deepEqual(tools.map((t) => t.name), TOOL_NAMES);
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  for (const tool of tools) {
    assert.ok(tool.description.length > 40, `${tool.name} has a description for a model`);
    assert.equal(tool.input_schema.type, "object", tool.name);
    const validate = ajv.compile(tool.input_schema);
    assert.equal(validate({ surely_not_a_field: 1 }), false, `${tool.name} refuses unknown fields`);
  }
  // A schema accepts what the tool accepts.
  const create = ajv.compile(tools.find((t) => t.name === "create_event")!.input_schema);
  assert.ok(
    create({
      request_id: "req-12345678",
      summary: "Dentist",
      start: "2026-03-30T09:00",
      end: "2026-03-30T10:00",
      time_zone: "Europe/Paris",
    }),
    JSON.stringify(create.errors),
  );
});

Deno.test("calendar tools: no tool's schema contains a user id, over HTTP or MCP", async () => {
  const { user } = await connectedUser("tools-schemas");
  const http = await catalogue();
  const mcp = await mcpClient(user.id);
  try {
    const listed = (await mcp.listTools()).tools;
    assert.deepEqual(listed.map((t) => t.name), TOOL_NAMES);
    for (const tool of listed) {
      const same = http.find((t) => t.name === tool.name)!;
      assert.deepEqual(tool.inputSchema, same.input_schema, `${tool.name}: one schema`);
      assert.equal(tool.description, same.description);
    }
    const text = JSON.stringify([http, listed]).toLowerCase();
    for (const word of ["user_id", "userid", "user id", "x-user-id"]) {
      assert.ok(!text.includes(word), `no "${word}" in any schema`);
    }
  } finally {
    await mcp.close();
  }
});

Deno.test("calendar tools: get_calendar_context over HTTP and MCP names the connected account and now", async () => {
  const { user, google } = await connectedUser("tools-context");
  const viaHttp = await toolResult(user.id, "get_calendar_context", {});
  assert.equal(viaHttp.google_email, google);
  assert.equal(typeof viaHttp.time_zone, "string");
  assert.ok(Math.abs(Date.parse(viaHttp.now) - Date.now()) < 10 * 60_000, viaHttp.now);
  assert.match(viaHttp.today, /^\d{4}-\d{2}-\d{2}$/);
  assert.deepEqual(viaHttp.granted_scopes, ["calendar.events"]);
  assert.equal(viaHttp.free_busy_available, false);
  const mcp = await mcpClient(user.id);
  try {
    const { isError, data } = await mcpCall(mcp, "get_calendar_context", {});
    assert.equal(isError, false);
    assert.equal(data.google_email, google);
  } finally {
    await mcp.close();
  }
});

Deno.test("calendar tools: list_events follows next_page_token without time_min (default now)", async () => {
  const { user, google } = await connectedUser("tools-pages");
  const base = Date.now() + 86_400_000;
  const at = (hours: number) => new Date(base + hours * 3600_000).toISOString();
  await emulatorControl("events", {
    email: google,
    items: [1, 2, 3].map((n) => ({
      id: `page${n}0000`,
      summary: `Meeting ${n}`,
      start: { dateTime: at(n) },
      end: { dateTime: at(n + 0.5) },
    })),
  });
  // Google's page token continues the query it came from; "now" moves between the two calls,
  // so the tool must send the first call's timeMin again.
  const first = await toolResult(user.id, "list_events", { max_results: 2 });
  assert.deepEqual(first.events.map((e: { id: string }) => e.id), ["page10000", "page20000"]);
  assert.equal(typeof first.next_page_token, "string");
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = await toolResult(user.id, "list_events", {
    max_results: 2,
    page_token: first.next_page_token,
  });
  assert.deepEqual(second.events.map((e: { id: string }) => e.id), ["page30000"]);
  assert.equal(second.next_page_token, undefined);
});

Deno.test("calendar tools: update_event moves a timed event to all-day and back (patch nulls the other form)", async () => {
  const { user } = await connectedUser("tools-all-day");
  const created = await toolResult(user.id, "create_event", {
    request_id: "switch-forms-1",
    summary: "Offsite",
    start: "2026-06-10T09:00:00Z",
    end: "2026-06-10T10:00:00Z",
  });
  const id = created.event.id;
  const allDay = await toolResult(user.id, "update_event", {
    event_id: id,
    start_date: "2026-06-11",
  });
  assert.deepEqual(
    [allDay.event.all_day, allDay.event.start, allDay.event.end],
    [true, "2026-06-11", "2026-06-12"],
  );
  const timed = await toolResult(user.id, "update_event", {
    event_id: id,
    start: "2026-06-12T14:00:00Z",
    end: "2026-06-12T15:00:00Z",
  });
  assert.equal(timed.event.all_day, false);
  assert.equal(Date.parse(timed.event.start), Date.parse("2026-06-12T14:00:00Z"));
});

Deno.test("calendar tools: list_events over HTTP and MCP: timed and all-day events, compact", async () => {
  const { user, google } = await connectedUser("tools-list");
  const base = new Date(Date.now() + 86_400_000);
  base.setUTCHours(0, 0, 0, 0);
  const day = base.toISOString().slice(0, 10);
  const next = new Date(base.getTime() + 86_400_000).toISOString().slice(0, 10);
  await emulatorControl("events", {
    email: google,
    items: [
      {
        id: "standup",
        summary: "Standup",
        start: { dateTime: new Date(base.getTime() + 9 * 3600_000).toISOString() },
        end: { dateTime: new Date(base.getTime() + 9.5 * 3600_000).toISOString() },
      },
      { id: "offsite", summary: "Offsite", start: { date: day }, end: { date: next } },
    ],
  });
  const input = {
    time_min: base.toISOString(),
    time_max: new Date(base.getTime() + 2 * 86_400_000).toISOString(),
  };
  const viaHttp = await toolResult(user.id, "list_events", input);
  // deno-lint-ignore no-explicit-any
  const byId = new Map<string, any>(viaHttp.events.map((e: { id: string }) => [e.id, e]));
  assert.equal(byId.get("standup").all_day, false);
  assert.equal(Date.parse(byId.get("standup").start), base.getTime() + 9 * 3600_000);
  assert.deepEqual(
    [byId.get("offsite").all_day, byId.get("offsite").start, byId.get("offsite").end],
    [true, day, next],
  );
  const mcp = await mcpClient(user.id);
  try {
    const { isError, data } = await mcpCall(mcp, "list_events", input);
    assert.equal(isError, false);
    assert.deepEqual(data, viaHttp);
  } finally {
    await mcp.close();
  }
});

Deno.test("calendar tools: a refusal over MCP is a tool error carrying the same code and field", async () => {
  const { user } = await connectedUser("tools-mcp-error");
  const mcp = await mcpClient(user.id);
  try {
    const { isError, data } = await mcpCall(mcp, "create_event", {
      request_id: "req-12345678",
      summary: "x",
      start: "2026-03-30T10:00:00Z",
      end: "2026-03-30T09:00:00Z",
    });
    assert.equal(isError, true);
    assert.deepEqual([data.code, data.field], ["invalid_time_range", "end"]);
    const unknown = await mcpCall(mcp, "list_events", { user_id: crypto.randomUUID() });
    assert.deepEqual([unknown.isError, unknown.data.code], [true, "invalid_input"]);
  } finally {
    await mcp.close();
  }
});

Deno.test("calendar-mcp: the user is bound by the transport: x-user-id for the bot, the token for a user", async () => {
  const { user } = await connectedUser("tools-mcp-bind");
  const other = await client.createUser("tools-mcp-other");
  const post = (headers: Record<string, string>) =>
    fetch(`${stack.functions_url}/calendar-mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
  const noUser = await post({ authorization: `Bearer ${BOT_KEY}` });
  assert.deepEqual([noUser.status, (await noUser.json()).code], [400, "invalid_request"]);
  const nobody = await post({ "x-user-id": user.id });
  assert.equal(nobody.status, 401);
  await nobody.body?.cancel();
  const token = await userToken(user.id);
  const someoneElse = await post({ authorization: `Bearer ${token}`, "x-user-id": other.id });
  assert.deepEqual([someoneElse.status, (await someoneElse.json()).code], [403, "forbidden"]);
  // A signed-in user's own token binds them: no header needed.
  const mcp = await mcpClient(user.id, { authorization: `Bearer ${token}` });
  try {
    const { data } = await mcpCall(mcp, "get_calendar_context", {});
    assert.ok(typeof data.google_email === "string");
  } finally {
    await mcp.close();
  }
});

Deno.test("calendar tools: Google's 403 insufficientPermissions → google_scope_missing with needed_scopes", async () => {
  const { user } = await connectedUser("tools-scope");
  try {
    await client.fault("events", "insufficientPermissions");
    const { status, body } = await callTool(user.id, "list_events", {});
    assert.deepEqual([status, body.code], [400, "google_scope_missing"]);
    assert.deepEqual(body.needed_scopes, ["https://www.googleapis.com/auth/calendar.events"]);
  } finally {
    await client.clearFaults();
  }
});

Deno.test("google-connect: scopes= asks for just the extra scopes, keeping the grant; unknown ones are refused", async () => {
  const user = await client.createUser("tools-consent");
  const { status, body } = await client.callJson("google-connect", {
    body: { user_id: user.id, scopes: "calendar.events.freebusy" },
  });
  assert.equal(status, 200, JSON.stringify(body));
  const url = new URL(body.auth_url as string);
  const scopes = url.searchParams.get("scope")!.split(" ");
  assert.ok(scopes.includes("https://www.googleapis.com/auth/calendar.events.freebusy"));
  assert.ok(scopes.includes("https://www.googleapis.com/auth/calendar.events"));
  assert.equal(url.searchParams.get("include_granted_scopes"), "true");
  const bad = await client.callJson("google-connect", {
    body: { user_id: user.id, scopes: "https://mail.google.com/" },
  });
  assert.deepEqual([bad.status, bad.body.code], [400, "invalid_request"]);
});
