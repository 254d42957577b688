/**
 * CLI: `deno run --allow-net --allow-env local/google_emulator/main.ts --port 54340 \
 *   --issuer http://127.0.0.1:54340 --client-id X --client-secret Y --redirect-uri Z`
 *
 * @module
 */

import type { IdTokenIssuerStyle } from "./emulator.ts";
import { serveGoogleEmulator, type ServeGoogleEmulatorOptions } from "./server.ts";

const USAGE = `usage: main.ts --client-id ID --client-secret SECRET --redirect-uri URI [options]
  --port N                  port to listen on (default 54340; 0 picks a free one)
  --hostname HOST           address to listen on (default 127.0.0.1)
  --issuer URL              public base URL (default http://HOST:PORT)
  --redirect-uri URI        repeatable; exact redirect URIs of the client
  --access-token-ttl SECS   access token lifetime (default 3599)
  --code-ttl SECS           authorization code lifetime (default 600)
  --id-token-issuer-style url|bare   (default url)
  --account EMAIL           repeatable; accounts listed in the chooser
  --demo-calendar EMAIL     repeatable; that account's calendar starts with the demo week
  --allow-http-loopback-push true|false  events.watch also accepts http:// loopback addresses
                            (Google takes https only; for a local stack on plain http)`;

/** Parses CLI flags (`--flag value` or `--flag=value`); returns an error message on bad input. */
export function parseCliArgs(args: readonly string[]): ServeGoogleEmulatorOptions | string {
  const values = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith("--")) return `unexpected argument: ${arg}`;
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      value = args[i + 1];
      i += 1;
    }
    if (value === undefined) return `--${name} needs a value`;
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  const known = [
    "port",
    "hostname",
    "issuer",
    "client-id",
    "client-secret",
    "redirect-uri",
    "access-token-ttl",
    "code-ttl",
    "id-token-issuer-style",
    "account",
    "allow-http-loopback-push",
    "demo-calendar",
  ];
  const unknown = [...values.keys()].find((name) => !known.includes(name));
  if (unknown !== undefined) return `unknown flag --${unknown}`;
  const one = (name: string) => values.get(name)?.at(-1);
  const clientId = one("client-id");
  const clientSecret = one("client-secret");
  const redirectUris = values.get("redirect-uri") ?? [];
  if (clientId === undefined || clientSecret === undefined || redirectUris.length === 0) {
    return "--client-id, --client-secret and --redirect-uri are required";
  }
  const port = Number(one("port") ?? "54340");
  if (!Number.isInteger(port) || port < 0 || port > 65535) return "--port must be 0..65535";
  const options: ServeGoogleEmulatorOptions = {
    port,
    hostname: one("hostname") ?? "127.0.0.1",
    clients: [{ clientId, clientSecret, redirectUris }],
    accounts: values.get("account") ?? [],
  };
  const issuer = one("issuer");
  if (issuer !== undefined) options.issuer = issuer;
  for (
    const [flag, key] of [["access-token-ttl", "accessTokenTtlSeconds"], [
      "code-ttl",
      "codeTtlSeconds",
    ]] as const
  ) {
    const raw = one(flag);
    if (raw === undefined) continue;
    const seconds = Number(raw);
    if (!(seconds > 0)) return `--${flag} must be a positive number`;
    options[key] = seconds;
  }
  const demo = values.get("demo-calendar");
  if (demo !== undefined) options.demoCalendars = demo;
  const loopbackPush = one("allow-http-loopback-push");
  if (loopbackPush !== undefined) {
    if (loopbackPush !== "true" && loopbackPush !== "false") {
      return "--allow-http-loopback-push must be true or false";
    }
    options.allowHttpLoopbackPush = loopbackPush === "true";
  }
  const style = one("id-token-issuer-style");
  if (style !== undefined) {
    if (style !== "url" && style !== "bare") return "--id-token-issuer-style must be url or bare";
    options.idTokenIssuerStyle = style satisfies IdTokenIssuerStyle;
  }
  return options;
}

async function main(): Promise<void> {
  if (Deno.args.includes("--help")) {
    console.log(USAGE);
    return;
  }
  const options = parseCliArgs(Deno.args);
  if (typeof options === "string") {
    console.error(`${options}\n${USAGE}`);
    Deno.exit(2);
  }
  const served = await serveGoogleEmulator(options);
  console.log(`google emulator listening on ${served.url}`);
  const stop = () => {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    // With the server closed and no listeners left, the process ends by itself with code 0.
    served.shutdown().catch((error) => {
      console.error("google emulator: shutdown failed:", error);
      Deno.exit(1);
    });
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

if (import.meta.main) await main();
