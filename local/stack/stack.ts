/**
 * The whole local stack, without Docker: Postgres, the migrations applied by the Supabase CLI,
 * PostgREST, the Google emulator, every Edge Function, and a gateway with Supabase's URL shapes.
 *
 * One stack per folder (a lock, see lock.ts). Every process it starts is in one ProcessGroup,
 * so stopping (also halfway through starting) reaches all of them and nothing is restarted.
 */

import { createAuthUserHandler } from "./auth_user.ts";
import { localBotApiKey } from "./bot_key.ts";
import { createGatewayHandler } from "./gateway.ts";
import {
  apiKey,
  loadOrCreateSecrets,
  postgrestJwks,
  publicJwk,
  type StackSecrets,
} from "./keys.ts";
import { ConfigError, loadConfig } from "../../supabase/functions/_google_calendar/config.ts";
import { EnvFileError, mergeFunctionEnv } from "./env_file.ts";
import { acquireStackLock } from "./lock.ts";
import { clusterDataDir, databaseUrl, psql, removeClusterOf, startPostgres } from "./postgres.ts";
import { startPostgrest } from "./postgrest.ts";
import { type FunctionServer, listFunctions, serveFunction } from "./functions.ts";
import { onPort, PortInUseError, portOwner } from "./ports.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./webhook_receiver.ts";
import { startWebhookWake, type WebhookWake } from "./webhook_wake.ts";
import { DENO, SUPABASE_CLI, supabaseCliEnv } from "./tools.ts";
import {
  httpReady,
  type ManagedProcess,
  ProcessGroup,
  processStartTime,
  run,
  spawnLogged,
  StoppingError,
  waitListening,
} from "./process.ts";

export { AlreadyRunningError } from "./lock.ts";
export { PortInUseError } from "./ports.ts";

/** What a running stack tells its users; written to `<dir>/stack.json`. */
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
  /** Where the Postgres cluster's files are (outside stack_dir when run as root). */
  db_data_dir?: string;
  /** The process that runs the stack: `npm stop` signals it. */
  pid?: number;
  /** The environment every function gets, as `supabase secrets set` plus Supabase's own. */
  function_env: Record<string, string>;
  functions: Record<string, { port: number; log_file: string }>;
  /** The stack's own webhook receiver (BOT_WEBHOOK_URL), when the .env names no other. */
  webhook_receiver_url?: string;
}

/** A process of the stack that tests may stop and start again (fault injection). */
export interface StackUnit {
  readonly name: string;
  pid(): number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A running stack. */
export interface Stack {
  info: StackInfo;
  secrets: StackSecrets;
  functions: Map<string, FunctionServer>;
  postgres: StackUnit;
  postgrest: StackUnit;
  /** Stops every process and frees the folder; safe to call more than once. */
  stop(): Promise<void>;
}

/** How to start a stack. */
export interface StackOptions {
  /** Where the keys, logs and stack.json live (git-ignored); the cluster too, unless root. */
  dir: string;
  /** Fixed ports like `supabase start`, or free ones (CI, tests). */
  ports: "fixed" | "auto";
  /** More folders of functions to serve beside supabase/functions (the benchmarks' baselines). */
  extraFunctionDirs?: string[];
  /** Extra or overriding variables for every function (e.g. a short HTTP_TIMEOUT_MS in tests). */
  functionEnv?: Record<string, string>;
  /** The variables of `supabase/functions/.env` (`npm start`), merged by mergeFunctionEnv. */
  envFile?: { path: string; env: Record<string, string> };
  /** Aborting stops whatever has started and makes startStack throw a StoppingError. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** The demo person of `npm start`: a Supabase user and a Google account with the demo week. */
export const DEMO_EMAIL = "demo@example.com";

/** The ports of `supabase start`. */
export const FIXED_PORTS = { api: 54321, db: 54322, postgrest: 54323, emulator: 54324 };

/**
 * Starts the stack in `options.dir`. Throws an AlreadyRunningError when a stack runs in that
 * folder, a PortInUseError when a fixed port is taken, a StoppingError when aborted.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? (() => {});
  const dir = await Deno.realPath(await ensureDir(options.dir));
  // Before anything else: a second start must not touch a running stack's processes or files.
  const lock = await acquireStackLock(dir);
  const group = new ProcessGroup();
  let gateway: Deno.HttpServer | null = null;
  let webhookReceiver: WebhookReceiver | null = null;
  let webhookWake: WebhookWake | null = null;
  let pidsWritten = Promise.resolve();
  const stopAll = async () => {
    await webhookWake?.stop().catch(() => {});
    webhookWake = null;
    await group.stopAll();
    await gateway?.shutdown().catch(() => {});
    await webhookReceiver?.stop().catch(() => {});
    webhookReceiver = null;
    gateway = null;
    await pidsWritten;
    await Deno.remove(`${dir}/pids.json`).catch(() => {});
  };
  const onAbort = () => void stopAll();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const checkAborted = () => {
    if (options.signal?.aborted || group.stopping) throw new StoppingError("the stack");
  };

  try {
    const logDir = await ensureDir(`${dir}/logs`);
    await stopLeftovers(dir);
    group.onChange = (live) => {
      pidsWritten = pidsWritten.then(() => writePids(dir, live)).catch(() => {});
    };
    const fixed = options.ports === "fixed";
    if (fixed) {
      // Fail at once, naming the port, rather than after the database is made.
      for (const [role, port] of Object.entries(FIXED_PORTS)) {
        const owner = portOwner(port);
        if (owner) throw new PortInUseError(port, PORT_ROLES[role] ?? role, owner);
      }
    }
    const secrets = await loadOrCreateSecrets(dir);

    // The gateway first, so that its port is known (functions get it as SUPABASE_URL) and held.
    // Until the functions are up it answers 503.
    const routes = { postgrestPort: 0, functions: new Map<string, number>(), ready: false };
    const jwks = { keys: [publicJwk(secrets)] };
    const handler = createGatewayHandler({
      get postgrestPort() {
        return routes.postgrestPort;
      },
      functionPort: (name) => routes.functions.get(name),
      jwks,
      authUser: createAuthUserHandler({
        jwtSecret: secrets.jwt_secret,
        userPublicJwk: publicJwk(secrets),
      }),
    });
    gateway = serveGateway(fixed ? FIXED_PORTS.api : 0, async (req) => {
      if (!routes.ready) return new Response("the local stack is starting", { status: 503 });
      return await handler(req);
    });
    const apiPort = (gateway.addr as Deno.NetAddr).port;
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await lock.update({ api_url: apiUrl });

    log("starting postgres");
    const dataDir = await clusterDataDir(dir);
    checkAborted();
    const launchPostgres = (port: number) =>
      startPostgres(dataDir, { port, logFile: `${logDir}/postgres.log`, group });
    const firstPostgres = await onPort(
      "database",
      fixed ? FIXED_PORTS.db : null,
      async (port) => ({ port, proc: await launchPostgres(port) }),
    );
    const dbPort = firstPostgres.port;
    const postgres = unit("postgres", firstPostgres.proc, () => launchPostgres(dbPort));
    const dbUrl = databaseUrl(dbPort);

    await prepareDatabase(dbUrl, log);
    checkAborted();

    const jwksFile = `${dir}/postgrest-jwks.json`;
    await Deno.writeTextFile(jwksFile, JSON.stringify(postgrestJwks(secrets)), { mode: 0o600 });
    log("starting postgrest");
    const launchPostgrest = (port: number) =>
      startPostgrest({ dbPort, port, jwksFile, logFile: `${logDir}/postgrest.log`, group });
    const firstPostgrest = await onPort(
      "PostgREST",
      fixed ? FIXED_PORTS.postgrest : null,
      async (port) => ({ port, proc: await launchPostgrest(port) }),
    );
    routes.postgrestPort = firstPostgrest.port;
    const postgrest = unit(
      "postgrest",
      firstPostgrest.proc,
      () => launchPostgrest(routes.postgrestPort),
    );

    const redirectUri = `${apiUrl}/functions/v1/google-callback`;
    log("starting the google emulator");
    const emulator = await onPort(
      "Google emulator",
      fixed ? FIXED_PORTS.emulator : null,
      (port) => startEmulator(port, { secrets, redirectUri, logDir, group }),
    );
    const emulatorUrl = `http://127.0.0.1:${emulator.port}`;

    const anonKey = await apiKey(secrets, "anon");
    const serviceRoleKey = await apiKey(secrets, "service_role");
    // Lifecycle webhooks go to a receiver that verifies and prints them, unless the .env (or
    // the caller) names the bot's own URL.
    if (
      !options.envFile?.env.BOT_WEBHOOK_URL && options.functionEnv?.BOT_WEBHOOK_URL === undefined
    ) {
      webhookReceiver = startWebhookReceiver({ log });
    }
    const generatedEnv: Record<string, string> = {
      ...(webhookReceiver
        ? { BOT_WEBHOOK_URL: webhookReceiver.url, BOT_WEBHOOK_SECRET: webhookReceiver.secret }
        : {}),
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
      // Push notifications: the emulator (on loopback) POSTs channel messages here.
      GOOGLE_PUSH_URL: `${apiUrl}/functions/v1/google-calendar-push`,
      OAUTH_STATE_SECRET: secrets.oauth_state_secret,
      TOKEN_ENCRYPTION_KEY: secrets.token_encryption_key,
      BOT_API_KEYS: await localBotApiKey(secrets.jwt_secret),
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
      checkAborted();
      log(`serving function ${name}`);
      const server = await serveFunction(name!, { env: functionEnv, logDir, dir: fnDir!, group });
      functions.set(name!, server);
      routes.functions.set(name!, server.port);
    }
    checkAborted();
    routes.ready = true;
    // pg_net's part: events written outside the functions wake google-webhooks (the trigger
    // notifies; see ./webhook_wake.ts).
    if (functions.has("google-webhooks")) {
      webhookWake = startWebhookWake(
        { dbUrl, functionsUrl: `${apiUrl}/functions/v1`, serviceKey: serviceRoleKey },
        { log },
      );
    }

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
      db_data_dir: dataDir,
      pid: Deno.pid,
      function_env: functionEnv,
      ...(webhookReceiver ? { webhook_receiver_url: webhookReceiver.url } : {}),
      functions: Object.fromEntries(
        [...functions].map(([name, f]) => [name, { port: f.port, log_file: f.logFile }]),
      ),
    };
    await Deno.writeTextFile(`${dir}/stack.json`, JSON.stringify(info, null, 2) + "\n", {
      mode: 0o600,
    });
    let stopped: Promise<void> | null = null;
    return {
      info,
      secrets,
      functions,
      postgres,
      postgrest,
      stop() {
        stopped ??= (async () => {
          options.signal?.removeEventListener("abort", onAbort);
          await Deno.remove(`${dir}/stack.json`).catch(() => {});
          await stopAll();
          lock.release();
        })();
        return stopped;
      },
    };
  } catch (error) {
    options.signal?.removeEventListener("abort", onAbort);
    await stopAll();
    lock.release();
    // Stopped on purpose halfway: whatever failed because of that is not the error.
    if (options.signal?.aborted && !(error instanceof StoppingError)) {
      throw new StoppingError("the stack");
    }
    throw error;
  }
}

const PORT_ROLES: Record<string, string> = {
  api: "API gateway",
  db: "database",
  postgrest: "PostgREST",
  emulator: "Google emulator",
};

/** Removes a stopped stack's folder and its cluster (which, as root, lives elsewhere). */
export async function removeStackDir(dir: string): Promise<void> {
  await removeClusterOf(dir).catch(() => {});
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

function serveGateway(port: number, handler: (req: Request) => Promise<Response>) {
  try {
    return Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handler);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new PortInUseError(port, "API gateway", portOwner(port));
    }
    throw error;
  }
}

async function startEmulator(port: number, options: {
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

/** A process started already, which can be stopped and started again later. */
function unit(
  name: string,
  first: ManagedProcess,
  launch: () => Promise<ManagedProcess>,
): StackUnit {
  let current: ManagedProcess | null = first;
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

/** A process the stack started, as recorded in pids.json (start time: against pid reuse). */
interface RecordedProcess {
  name: string;
  pid: number;
  start: string | null;
}

async function writePids(dir: string, live: ManagedProcess[]): Promise<void> {
  const records: RecordedProcess[] = live.map((p) => ({
    name: p.name,
    pid: p.pid,
    start: processStartTime(p.pid),
  }));
  await Deno.writeTextFile(`${dir}/pids.json`, JSON.stringify(records));
}

/**
 * A stack killed with SIGKILL leaves its children running; stop them before reusing the folder
 * and ports. Called only with the folder's lock held, so they cannot be a live stack's.
 */
export async function stopLeftovers(dir: string): Promise<number> {
  let recorded: (number | RecordedProcess)[];
  try {
    recorded = JSON.parse(await Deno.readTextFile(`${dir}/pids.json`));
  } catch {
    return 0;
  }
  const left: number[] = [];
  for (const entry of recorded) {
    const pid = typeof entry === "number" ? entry : entry.pid;
    const start = processStartTime(pid);
    if (start === null) continue; // Gone.
    // Only our own children: a pid may have been reused since.
    const same = typeof entry === "number"
      ? /(postgrest|deno)$/.test(commandOf(pid)) // pids.json of an older stack: no start time
      : entry.start === start;
    if (!same) continue;
    // Postgres shuts down fast on SIGINT (its backends with it); the others end on SIGTERM.
    const isPostgres = typeof entry !== "number" && entry.name === "postgres";
    signalPid(pid, isPostgres ? "SIGINT" : "SIGTERM");
    left.push(pid);
  }
  const deadline = Date.now() + 5000;
  while (left.some((pid) => processStartTime(pid) !== null) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const pid of left) if (processStartTime(pid) !== null) signalPid(pid, "SIGKILL");
  await Deno.remove(`${dir}/pids.json`).catch(() => {});
  return left.length;
}

function signalPid(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function commandOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0")[0] ?? "";
  } catch {
    return "";
  }
}
