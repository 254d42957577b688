/**
 * The whole local stack, without Docker: Postgres, the migrations applied by the Supabase CLI,
 * PostgREST, the Google emulator, every Edge Function, and a gateway with Supabase's URL shapes.
 *
 * One stack per folder (a lock, see lock.ts). Every process it starts is in one ProcessGroup,
 * so stopping (also halfway through starting) reaches all of them and nothing is restarted.
 */

import { createAuthUserHandler } from "./auth_user.ts";
import { localBotApiKey } from "./bot_key.ts";
import { prepareDatabase } from "./database.ts";
import { startEmulator } from "./emulator_process.ts";
import { createGatewayHandler } from "./gateway.ts";
import { apiKey, loadOrCreateSecrets, postgrestJwks, publicJwk } from "./keys.ts";
import { ConfigError, loadConfig } from "../../supabase/functions/_google_calendar/config.ts";
import { EnvFileError, mergeFunctionEnv } from "./env_file.ts";
import { stopLeftovers, writePids } from "./leftovers.ts";
import { acquireStackLock } from "./lock.ts";
import { clusterDataDir, databaseUrl, removeClusterOf, startPostgres } from "./postgres.ts";
import { startPostgrest } from "./postgrest.ts";
import { type FunctionServer, listFunctions, serveFunction } from "./functions.ts";
import { onPort, PortInUseError, portOwner } from "./ports.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./webhook_receiver.ts";
import { startWebhookWake, type WebhookWake } from "./webhook_wake.ts";
import { type ManagedProcess, ProcessGroup, StoppingError } from "./process.ts";
import type { Stack, StackInfo, StackOptions, StackUnit } from "./stack_types.ts";

export { AlreadyRunningError } from "./lock.ts";
export { PortInUseError } from "./ports.ts";
export { applyMigrations, prepareDatabase } from "./database.ts";
export { DEMO_EMAIL } from "./emulator_process.ts";
export { stopLeftovers } from "./leftovers.ts";
export type { Stack, StackInfo, StackOptions, StackUnit } from "./stack_types.ts";

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
