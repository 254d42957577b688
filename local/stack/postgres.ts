/** A private PostgreSQL cluster for the local stack, from Debian's packages. */

import { type ManagedProcess, run, spawnLogged, waitFor } from "./process.ts";

const PASSWORD = "postgres"; // Same as `supabase start`: loopback only, never a deployed value.

/** The newest installed PostgreSQL's bin folder (or PG_BINDIR). */
export function postgresBinDir(): string {
  const fromEnv = Deno.env.get("PG_BINDIR");
  if (fromEnv) return fromEnv;
  const versions: number[] = [];
  try {
    for (const entry of Deno.readDirSync("/usr/lib/postgresql")) {
      const major = Number(entry.name);
      if (Number.isInteger(major)) versions.push(major);
    }
  } catch {
    // Handled below.
  }
  const major = versions.sort((a, b) => b - a)[0];
  if (major === undefined) {
    throw new Error(
      "PostgreSQL is not installed: run `apt-get install postgresql` (or set PG_BINDIR)",
    );
  }
  return `/usr/lib/postgresql/${major}/bin`;
}

/** Postgres refuses to run as root, so as root the server runs as the `postgres` user. */
function asPostgresUser(command: string, args: string[]): [string, string[]] {
  if (Deno.uid() !== 0) return [command, args];
  return ["setpriv", [
    "--reuid=postgres",
    "--regid=postgres",
    "--init-groups",
    "--",
    command,
    ...args,
  ]];
}

export function databaseUrl(port: number, user = "postgres", password = PASSWORD): string {
  return `postgresql://${user}:${password}@127.0.0.1:${port}/postgres`;
}

/** Creates the cluster once; later starts reuse it (stored rows survive restarts). */
export async function ensureCluster(dataDir: string): Promise<void> {
  try {
    await Deno.stat(`${dataDir}/PG_VERSION`);
    return;
  } catch {
    // Not created yet.
  }
  await Deno.mkdir(dataDir, { recursive: true });
  const pwFile = `${dataDir}.pw`;
  await Deno.writeTextFile(pwFile, PASSWORD + "\n");
  if (Deno.uid() === 0) await run("chown", ["-R", "postgres:postgres", dataDir, pwFile]);
  const [cmd, args] = asPostgresUser(`${postgresBinDir()}/initdb`, [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=scram-sha-256",
    `--pwfile=${pwFile}`,
    "--encoding=UTF8",
    "--locale=C.UTF-8",
  ]);
  try {
    await run(cmd, args);
  } finally {
    await Deno.remove(pwFile);
  }
}

/** Stops a server left behind by a stack that was killed rather than stopped. */
async function stopStaleServer(dataDir: string): Promise<void> {
  try {
    await Deno.stat(`${dataDir}/postmaster.pid`);
  } catch {
    return;
  }
  const [cmd, args] = asPostgresUser(`${postgresBinDir()}/pg_ctl`, [
    "stop",
    "-D",
    dataDir,
    "-m",
    "fast",
    "-w",
  ]);
  await run(cmd, args).catch(() => {
    // Not running: postmaster.pid was stale and postgres removes it on start.
  });
}

export async function startPostgres(
  dataDir: string,
  options: { port: number; logFile: string },
): Promise<ManagedProcess> {
  // As root the server runs as the postgres user, which must be able to reach its folder.
  if (Deno.uid() === 0) {
    const parent = dataDir.includes("/") ? dataDir.slice(0, dataDir.lastIndexOf("/")) : ".";
    await Deno.chmod(parent, 0o711);
  }
  await ensureCluster(dataDir);
  await stopStaleServer(dataDir);
  const [cmd, args] = asPostgresUser(`${postgresBinDir()}/postgres`, [
    "-D",
    dataDir,
    "-p",
    String(options.port),
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "unix_socket_directories=",
    "-c",
    "max_connections=200",
    "-c",
    "fsync=on",
  ]);
  const proc = await spawnLogged("postgres", cmd, {
    args,
    logFile: options.logFile,
    stopSignal: "SIGINT",
  });
  const url = databaseUrl(options.port);
  await waitFor("postgres", () => psql(url, ["-c", "select 1"]).then(() => true), {
    exited: proc.status,
  });
  return proc;
}

/** psql with ON_ERROR_STOP, quiet; returns its output. */
export function psql(url: string, args: string[], stdin?: string): Promise<string> {
  return run("psql", [url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", ...args], {
    ...(stdin === undefined ? {} : { stdin }),
  });
}

/**
 * The rows of `query` (one unaligned text line each), run as a psql script so that `:'name'`
 * variables from `vars` are quoted safely.
 */
export async function queryRows(
  url: string,
  query: string,
  vars: Record<string, string> = {},
): Promise<string[]> {
  const args = [url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"];
  for (const [k, v] of Object.entries(vars)) args.push("-v", `${k}=${v}`);
  const child = new Deno.Command("psql", { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(query));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(`psql failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
}
