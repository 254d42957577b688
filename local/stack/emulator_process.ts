/** The Google emulator as one of the stack's processes, with the demo person's calendar. */

import {
  httpReady,
  type ManagedProcess,
  type ProcessGroup,
  spawnLogged,
  waitListening,
} from "./process.ts";
import type { StackSecrets } from "./keys.ts";
import { DENO } from "./tools.ts";

/** The demo person of `npm start`: a Supabase user and a Google account with the demo week. */
export const DEMO_EMAIL = "demo@example.com";

/** Starts the emulator on `port` for the stack's OAuth client; resolves once it answers. */
export async function startEmulator(port: number, options: {
  secrets: StackSecrets;
  redirectUri: string;
  logDir: string;
  group: ProcessGroup;
}): Promise<{ port: number; proc: ManagedProcess }> {
  const url = `http://127.0.0.1:${port}`;
  const proc = await spawnLogged("google-emulator", DENO, {
    args: [
      "run",
      "--quiet",
      "--allow-net",
      "--allow-env",
      "--config",
      "deno.json",
      "local/google_emulator/main.ts",
      "--port",
      String(port),
      "--issuer",
      url,
      "--client-id",
      options.secrets.google_client_id,
      "--client-secret",
      options.secrets.google_client_secret,
      "--redirect-uri",
      options.redirectUri,
      // The functions serve plain http on loopback; Google itself only pushes to https.
      "--allow-http-loopback-push",
      "true",
      "--demo-calendar",
      DEMO_EMAIL,
    ],
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "" },
    clearEnv: true,
    logFile: `${options.logDir}/google-emulator.log`,
    group: options.group,
  });
  try {
    await waitListening(proc, port, {
      role: "Google emulator",
      probe: () => httpReady(`${url}/.well-known/openid-configuration`),
    });
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { port, proc };
}
