/** Serves an emulator over loopback HTTP with `Deno.serve`. */

import {
  createGoogleEmulator,
  type GoogleEmulator,
  type GoogleEmulatorOptions,
} from "./emulator.ts";

/** Emulator options plus where to listen; the issuer defaults to the address listened on. */
export interface ServeGoogleEmulatorOptions extends Omit<GoogleEmulatorOptions, "issuer"> {
  /** Default `http://<hostname>:<actual port>`. */
  issuer?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
}

/** A listening emulator. */
export interface ServedGoogleEmulator {
  emulator: GoogleEmulator;
  /** The issuer, i.e. the base URL of every endpoint. */
  url: string;
  /** Releases hanging calls, stops listening and waits for in-flight requests. */
  shutdown(): Promise<void>;
}

/** Starts an emulator on a real socket. */
export async function serveGoogleEmulator(
  options: ServeGoogleEmulatorOptions,
): Promise<ServedGoogleEmulator> {
  const { port = 0, hostname = "127.0.0.1", issuer, ...rest } = options;
  // The issuer needs the actual port, so requests wait for the emulator built after listening.
  const ready = Promise.withResolvers<GoogleEmulator>();
  const server = Deno.serve(
    { port, hostname, onListen: () => {} },
    async (req) => (await ready.promise).handler(req),
  );
  let emulator: GoogleEmulator;
  try {
    emulator = await createGoogleEmulator({
      ...rest,
      issuer: issuer ?? `http://${urlHost(hostname)}:${server.addr.port}`,
    });
  } catch (error) {
    ready.reject(error);
    await server.shutdown();
    throw error;
  }
  ready.resolve(emulator);
  let stopping: Promise<void> | undefined;
  return {
    emulator,
    url: emulator.issuer,
    shutdown() {
      stopping ??= (async () => {
        emulator.close();
        await server.shutdown();
      })();
      return stopping;
    },
  };
}

function urlHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}
