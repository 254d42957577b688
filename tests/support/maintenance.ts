/**
 * What the maintenance tests share: a pass through the gateway, connected users, making grants
 * due, the events and revocation-queue rows of a user, a user's live grants at the emulator, and
 * extra google-maintenance processes with another environment (another key ring, budget or
 * client secret) beside the stack's own.
 */

import { serveFunction } from "../../local/stack/functions.ts";
import type { PassReport } from "../../supabase/functions/google-maintenance/report.ts";
import type { PrivateStack, TestUser } from "./private_stack.ts";
import type { StackClient } from "./stack_client.ts";

export type { PassReport };

/** A maintenance pass's answer. */
export interface PassAnswer {
  status: number;
  report: PassReport;
}

/** POSTs google-maintenance with the service key (through the gateway unless `url` is given). */
export async function runPass(s: StackClient, url?: string): Promise<PassAnswer> {
  const res = await fetch(url ?? `${s.info.functions_url}/google-maintenance`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.info.service_role_key}` },
  });
  const text = await res.text();
  try {
    return { status: res.status, report: JSON.parse(text) as PassReport };
  } catch {
    throw new Error(`google-maintenance answered ${res.status}: ${text.slice(0, 200)}`);
  }
}

/** `n` connected users, `concurrency` consents at a time. */
export async function connectedUsers(
  s: StackClient,
  prefix: string,
  n: number,
  concurrency = 4,
): Promise<{ user: TestUser; google: string }[]> {
  const out: { user: TestUser; google: string }[] = [];
  for (let i = 0; i < n; i += concurrency) {
    const batch = Math.min(concurrency, n - i);
    out.push(
      ...await Promise.all(Array.from({ length: batch }, () => s.connectedUser(prefix))),
    );
  }
  return out;
}

/** Makes these users' refresh tokens look unused for `days` days (keep-alive is due). */
export async function makeDue(s: StackClient, userIds: string[], days = 40): Promise<void> {
  await s.sql(
    `update public.google_calendar_tokens
       set refresh_token_used_at = now() - make_interval(days => ${Math.floor(days)})
     where user_id = any (string_to_array(:'ids', ',')::uuid[])`,
    { ids: userIds.join(",") },
  );
}

/** The event types queued for `userId`, in order. */
export async function eventTypes(s: StackClient, userId: string): Promise<string[]> {
  return await s.sql(
    `select type from public.google_calendar_webhook_events where user_id = :'id' order by seq`,
    { id: userId },
  );
}

/** The payload `data` of `userId`'s last event of `type`. */
export async function eventData(
  s: StackClient,
  userId: string,
  type: string,
): Promise<Record<string, unknown> | null> {
  const [json] = await s.sql(
    `select payload->'data' from public.google_calendar_webhook_events
      where user_id = :'id' and type = :'type' order by seq desc limit 1`,
    { id: userId, type },
  );
  return json ? JSON.parse(json) : null;
}

/** `userId`'s revocation-queue entries. */
export async function queuedRevocations(s: StackClient, userId: string): Promise<number> {
  const [n] = await s.sql(
    `select count(*) from public.google_calendar_revocations where user_id = :'id'`,
    { id: userId },
  );
  return Number(n);
}

/** Makes every queued revocation due now (instead of waiting out its backoff). */
export async function makeRevocationsDue(s: StackClient): Promise<void> {
  await s.sql(`update public.google_calendar_revocations set next_attempt_at = now()`);
}

/** How many refresh tokens of `email` Google still honours. */
export async function liveRefreshTokens(s: StackClient, email: string): Promise<number> {
  return (await s.account(email)).refreshTokens.length;
}

/** The columns a refresh changes, to compare a row before and after a pass. */
export async function grantState(s: StackClient, userId: string): Promise<string | null> {
  const [row] = await s.sql(
    `select concat_ws('|', grant_id, access_token, refresh_token, refresh_token_used_at,
                      refresh_lease_id)
       from public.google_calendar_tokens where user_id = :'id'`,
    { id: userId },
  );
  return row ?? null;
}

/** A process of function `name` of stack `s`, with `env` over the stack's variables. */
export async function functionVariant(
  s: PrivateStack,
  name: string,
  env: Record<string, string>,
  tag: string,
): Promise<{ url: string; logs(): Promise<string>; stop(): Promise<void> }> {
  const logDir = `${s.info.stack_dir}/logs-${tag}`;
  await Deno.mkdir(logDir, { recursive: true });
  const server = await serveFunction(name, { env: { ...s.info.function_env, ...env }, logDir });
  return {
    url: `http://127.0.0.1:${server.port}/`,
    logs: () => Deno.readTextFile(server.logFile).catch(() => ""),
    stop: () => server.stop(),
  };
}

/** Another google-maintenance process of stack `s`, with `env` over the stack's variables. */
export async function maintenanceVariant(
  s: PrivateStack,
  env: Record<string, string>,
  tag: string,
): Promise<
  { url: string; pass(): Promise<PassAnswer>; logs(): Promise<string>; stop(): Promise<void> }
> {
  const variant = await functionVariant(s, "google-maintenance", env, tag);
  return { ...variant, pass: () => runPass(s, variant.url) };
}
