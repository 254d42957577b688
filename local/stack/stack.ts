/**
 * The whole local stack, without Docker: Postgres, the migrations applied by the Supabase CLI,
 * PostgREST, the Google emulator, every Edge Function, and a gateway with Supabase's URL shapes.
 */

import { createGatewayHandler } from "./gateway.ts";
import {
  apiKey,
  loadOrCreateSecrets,
  postgrestJwks,
  publicJwk,
  type StackSecrets,
} from "./keys.ts";
import { ConfigError, loadConfig } from "../../supabase/functions/_shared/config.ts";
import { EnvFileError, mergeFunctionEnv } from "./env_file.ts";
import { databaseUrl, psql, startPostgres } from "./postgres.ts";
import { startPostgrest } from "./postgrest.ts";
import { type FunctionServer, listFunctions, serveFunction } from "./functions.ts";
import { DENO, SUPABASE_CLI, supabaseCliEnv } from "./tools.ts";
import { freePort, httpReady, type ManagedProcess, run, spawnLogged, waitFor } from "./process.ts";

export interface StackInfo {
  api_url: string;
  rest_url: string;
  functions_url: string;
  jwks_url: string;
  db_url: string;
  anon_key: string;
  service_role_key: string;
  jwt_secret: string;
  google_emulator_url: string;
  google_client_id: string;
  google_redirect_uri: string;
  result_page_url: string;
  stack_dir: string;
  secrets_file: string;
  log_dir: string;
  /** The environment every function gets, as `supabase secrets set` plus Supabase's own. */
  function_env: Record<string, string>;
  functions: Record<string, { port: number; log_file: string }>;
}

/** A process of the stack that tests may stop and start again (fault injection). */
export interface StackUnit {
  readonly name: string;
  pid(): number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface Stack {
  info: StackInfo;
  secrets: StackSecrets;
  functions: Map<string, FunctionServer>;
  postgres: StackUnit;
  postgrest: StackUnit;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Where the cluster, keys, logs and stack.json live (git-ignored). */
  dir: string;
  /** Fixed ports like `supabase start`, or free ones (CI, tests). */
  ports: "fixed" | "auto";
  /** More folders of functions to serve beside supabase/functions (the benchmarks' baselines). */
  extraFunctionDirs?: string[];
  /** Extra or overriding variables for every function (e.g. a short HTTP_TIMEOUT_MS in tests). */
  functionEnv?: Record<string, string>;
  /** The variables of `supabase/functions/.env` (`npm start`), merged by mergeFunctionEnv. */
  envFile?: { path: string; env: Record<string, string> };
  log?: (line: string) => void;
}

const FIXED_PORTS = { api: 54321, db: 54322, postgrest: 54323, emulator: 54324 };

export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? (() => {});
  const dir = await Deno.realPath(await ensureDir(options.dir));
  const logDir = await ensureDir(`${dir}/logs`);
  await stopLeftovers(dir);

  const ports = options.ports === "fixed" ? FIXED_PORTS : {
    api: freePort(),
    db: freePort(),
    postgrest: freePort(),
    emulator: freePort(),
  };
  const started: { stop(): Promise<void> }[] = [];
  const pids: number[] = [];
  const stopAll = async () => {
    for (const p of started.reverse()) await p.stop().catch(() => {});
    started.length = 0;
    await Deno.remove(`${dir}/pids.json`).catch(() => {});
  };

  try {
    const secrets = await loadOrCreateSecrets(dir);
    const apiUrl = `http://127.0.0.1:${ports.api}`;
    const dbUrl = databaseUrl(ports.db);

    log("starting postgres");
    const postgres = await unit(
      "postgres",
      () => startPostgres(`${dir}/postgres`, { port: ports.db, logFile: `${logDir}/postgres.log` }),
    );
    started.push(postgres);
    pids.push(postgres.pid());
    await writePids(dir, pids);

    await prepareDatabase(dbUrl, log);

    const jwksFile = `${dir}/postgrest-jwks.json`;
    await Deno.writeTextFile(jwksFile, JSON.stringify(postgrestJwks(secrets)), { mode: 0o600 });
    log("starting postgrest");
    const postgrest = await unit("postgrest", () =>
      startPostgrest({
        dbPort: ports.db,
        port: ports.postgrest,
        jwksFile,
        logFile: `${logDir}/postgrest.log`,
      }));
    started.push(postgrest);
    pids.push(postgrest.pid());
    await writePids(dir, pids);

    const redirectUri = `${apiUrl}/functions/v1/google-callback`;
    const emulatorUrl = `http://127.0.0.1:${ports.emulator}`;
    log("starting the google emulator");
    const emulator = await spawnLogged("google-emulator", DENO, {
      args: [
        "run",
        "--quiet",
        "--allow-net",
        "--allow-env",
        "--config",
        "deno.json",
        "local/google_emulator/main.ts",
        "--port",
        String(ports.emulator),
        "--issuer",
        emulatorUrl,
        "--client-id",
        secrets.google_client_id,
        "--client-secret",
        secrets.google_client_secret,
        "--redirect-uri",
        redirectUri,
      ],
      env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "" },
      clearEnv: true,
      logFile: `${logDir}/google-emulator.log`,
    });
    started.push(emulator);
    pids.push(emulator.pid);
    await waitFor(
      "google emulator",
      () => httpReady(`${emulatorUrl}/.well-known/openid-configuration`),
      { exited: emulator.status },
    );
    await writePids(dir, pids);

    const anonKey = await apiKey(secrets, "anon");
    const serviceRoleKey = await apiKey(secrets, "service_role");
    const generatedEnv: Record<string, string> = {
      SUPABASE_URL: apiUrl,
      SUPABASE_ANON_KEY: anonKey,
      SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey,
      SUPABASE_DB_URL: dbUrl,
      GOOGLE_CLIENT_ID: secrets.google_client_id,
      GOOGLE_CLIENT_SECRET: secrets.google_client_secret,
      GOOGLE_REDIRECT_URI: redirectUri,
      GOOGLE_OAUTH_BASE_URL: emulatorUrl,
      GOOGLE_API_BASE_URL: emulatorUrl,
      GOOGLE_RESULT_PAGE_URL: `${apiUrl}/google-calendar/result`,
      OAUTH_STATE_SECRET: secrets.oauth_state_secret,
      TOKEN_ENCRYPTION_KEY: secrets.token_encryption_key,
    };
    let functionEnv = { ...generatedEnv, ...options.functionEnv };
    if (options.envFile) {
      const merged = mergeFunctionEnv(generatedEnv, options.envFile.env);
      for (const note of merged.notes) log(`${options.envFile.path}: ${note}`);
      functionEnv = { ...merged.env, ...options.functionEnv };
    }
    // Fail here, naming the variable, rather than as a function that will not boot.
    try {
      loadConfig(functionEnv);
    } catch (error) {
      if (!(error instanceof ConfigError) || !options.envFile) throw error;
      throw new EnvFileError(`${error.message}\n(check ${options.envFile.path})`);
    }

    const functions = new Map<string, FunctionServer>();
    const functionDirs = ["supabase/functions", ...(options.extraFunctionDirs ?? [])];
    for (const [name, fnDir] of functionDirs.flatMap((d) => listFunctions(d).map((n) => [n, d]))) {
      log(`serving function ${name}`);
      const server = await serveFunction(name!, { env: functionEnv, logDir, dir: fnDir! });
      functions.set(name!, server);
      started.push(server);
      pids.push(server.pid());
    }
    await writePids(dir, pids);

    const jwks = { keys: [publicJwk(secrets)] };
    const gateway = Deno.serve(
      {
        hostname: "127.0.0.1",
        port: ports.api,
        onListen: () => {},
      },
      createGatewayHandler({
        postgrestPort: ports.postgrest,
        functionPort: (name) => functions.get(name)?.port,
        jwks,
      }),
    );
    started.push({ stop: () => gateway.shutdown() });

    const info: StackInfo = {
      api_url: apiUrl,
      rest_url: `${apiUrl}/rest/v1`,
      functions_url: `${apiUrl}/functions/v1`,
      jwks_url: `${apiUrl}/auth/v1/.well-known/jwks.json`,
      db_url: dbUrl,
      anon_key: anonKey,
      service_role_key: serviceRoleKey,
      jwt_secret: secrets.jwt_secret,
      google_emulator_url: emulatorUrl,
      google_client_id: secrets.google_client_id,
      google_redirect_uri: redirectUri,
      result_page_url: functionEnv.GOOGLE_RESULT_PAGE_URL!,
      stack_dir: dir,
      secrets_file: `${dir}/secrets.json`,
      log_dir: logDir,
      function_env: functionEnv,
      functions: Object.fromEntries(
        [...functions].map(([name, f]) => [name, { port: f.port, log_file: f.logFile }]),
      ),
    };
    await Deno.writeTextFile(`${dir}/stack.json`, JSON.stringify(info, null, 2) + "\n", {
      mode: 0o600,
    });
    return {
      info,
      secrets,
      functions,
      postgres,
      postgrest,
      async stop() {
        await stopAll();
        await Deno.remove(`${dir}/stack.json`).catch(() => {});
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** What every Supabase project has (bootstrap.sql), then the migrations. */
export async function prepareDatabase(dbUrl: string, log: (line: string) => void): Promise<void> {
  log("preparing the database like a Supabase project");
  await psql(dbUrl, ["-f", "local/stack/bootstrap.sql"]);
  log("applying migrations with the Supabase CLI");
  await applyMigrations(dbUrl);
}

/** `supabase migration up`: the real CLI, history in supabase_migrations.schema_migrations. */
export async function applyMigrations(dbUrl: string): Promise<void> {
  await run(SUPABASE_CLI, ["migration", "up", "--db-url", dbUrl, "--yes"], {
    env: supabaseCliEnv(),
  });
}

/** Starts a process now and lets it be stopped and started again later. */
async function unit(name: string, launch: () => Promise<ManagedProcess>): Promise<StackUnit> {
  let current: ManagedProcess | null = await launch();
  return {
    name,
    pid: () => current?.pid ?? 0,
    async stop() {
      await current?.stop();
      current = null;
    },
    async start() {
      if (!current) current = await launch();
    },
  };
}

async function ensureDir(path: string): Promise<string> {
  await Deno.mkdir(path, { recursive: true });
  return path;
}

async function writePids(dir: string, pids: number[]): Promise<void> {
  await Deno.writeTextFile(`${dir}/pids.json`, JSON.stringify(pids));
}

/** A stack killed with SIGKILL leaves its children running; stop them before reusing the ports. */
async function stopLeftovers(dir: string): Promise<void> {
  let pids: number[];
  try {
    pids = JSON.parse(await Deno.readTextFile(`${dir}/pids.json`));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      const program = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0")[0] ?? "";
      // Only our own children (a pid may have been reused since); postgres is stopped by
      // pg_ctl from its own postmaster.pid, which also ends its backends.
      if (/(postgrest|deno)$/.test(program)) Deno.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  await Deno.remove(`${dir}/pids.json`).catch(() => {});
}
