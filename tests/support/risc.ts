/**
 * Cross-Account Protection in tests: the stream registered through the real risc:register code
 * with a service-account key the emulator issued, events emitted by the emulator as Google
 * sends them, SETs posted by hand, and what the bot received for a user.
 */

import assert from "node:assert/strict";
import { readServiceAccountKey, registerRiscStream } from "../../local/bin/risc_register.ts";
import { deliveries, waitFor } from "./webhooks.ts";
import { emulatorControl, emulatorGet, stack } from "./stack.ts";

/** google-risc's URL on the stack under test. */
export const RISC_URL = `${stack.functions_url}/google-risc`;

/** Registers the stream at the emulator (stream:update + stream:verify); returns the state. */
export async function registerStream(): Promise<string> {
  const keyFile = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const key = await emulatorControl("risc/service-account");
    await Deno.writeTextFile(keyFile, JSON.stringify(key));
    const { state } = await registerRiscStream({
      key: await readServiceAccountKey(keyFile),
      receiverUrl: RISC_URL,
      apiBaseUrl: stack.google_emulator_url,
    });
    return state;
  } finally {
    await Deno.remove(keyFile);
  }
}

/** What the emulator's emit control answers. */
export interface Emitted {
  jti: string;
  status: number;
}

/** The emulator signs one event for an account and POSTs it to google-risc. */
export async function emit(body: Record<string, unknown>): Promise<Emitted> {
  return await emulatorControl("risc/emit", body) as Emitted;
}

/** A SET signed by the emulator's RISC key but not sent (claims may be overridden). */
export async function signedSet(body: Record<string, unknown>): Promise<string> {
  return (await emulatorControl("risc/emit", { ...body, deliver: false }) as { set: string }).set;
}

/** POSTs `body` to google-risc as Google would; status and parsed body. */
export async function postSet(
  body: BodyInit,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const res = await fetch(RISC_URL, {
    method: "POST",
    headers: { "content-type": "application/secevent+jwt", ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The registered stream at the emulator and its deliveries. */
export async function riscStream(): Promise<{
  stream: { url: string; eventsRequested: string[] } | null;
  deliveries: { jti: string; eventType: string; status: number }[];
}> {
  return await emulatorGet("risc/stream") as Awaited<ReturnType<typeof riscStream>>;
}

/** The event bodies the bot received for `userId`, once `n` have arrived, in order. */
export async function botEvents(
  userId: string,
  n: number,
): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const got = await waitFor(`${n} webhooks for ${userId}`, async () => {
    const all = await deliveries(userId);
    const ok = all.filter((d) => d.verified && d.answered < 300);
    return ok.length >= n ? ok : undefined;
  });
  for (const d of got) assert.ok(d.verified, "every delivery verifies");
  return got.map((d) => JSON.parse(d.body));
}
