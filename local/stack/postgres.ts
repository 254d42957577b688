/**
 * A private PostgreSQL cluster for the local stack, from Debian's packages.
 *
 * Where the cluster lives: as a normal user, in `<stack dir>/postgres`. As root the server runs
 * as the `postgres` user, which cannot reach a clone under a private folder (`/root`, a 0700
 * `mktemp -d`), and we never loosen the permissions of someone's folders; so the cluster lives
 * in a postgres-owned folder keyed by the stack folder's path,
 * `/var/lib/postgresql/local-stacks/<hash>/data`. `<stack dir>/cluster.json` ties the two: a
 * stack folder made afresh gets a fresh cluster, and clusters whose folder is gone are removed.
 */

import { runningStack } from "./lock.ts";
import {
  type ManagedProcess,
  type ProcessGroup,
  run,
  spawnLogged,
  waitListening,
} from "./process.ts";

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

/**
 * The Postgres tools run from `/`: they look at their working folder, which the postgres user
 * may not reach (a clone in /root). So every path given to them is absolute.
 */
const POSTGRES_CWD = "/";

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
    await run(cmd, args, { cwd: POSTGRES_CWD });
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
  await run(cmd, args, { cwd: POSTGRES_CWD }).catch(() => {
    // Not running: postmaster.pid was stale and postgres removes it on start.
  });
}

/**
 * Starts the server on `port` and waits until it is the one answering there. Throws a
 * PortInUseError when the port is taken (onPort then tries another).
 */
export async function startPostgres(
  dataDir: string,
  options: { port: number; logFile: string; group?: ProcessGroup },
): Promise<ManagedProcess> {
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
    cwd: POSTGRES_CWD,
    ...(options.group ? { group: options.group } : {}),
  });
  const url = databaseUrl(options.port);
  try {
    await waitListening(proc, options.port, {
      role: "database",
      probe: () => psql(url, ["-c", "select 1"]).then(() => true),
    });
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return proc;
}

const CLUSTER_FILE = "cluster.json";

/** The postgres user's home (Debian: /var/lib/postgresql), from /etc/passwd. */
function postgresHome(): string | null {
  try {
    const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
      l.startsWith("postgres:")
    );
    const home = line?.split(":")[5];
    return home && Deno.statSync(home).isDirectory ? home : null;
  } catch {
    return null;
  }
}

/** As root, where the clusters of all stacks on this machine live, one folder each. */
export function clustersBase(): string {
  const home = postgresHome();
  return home ? `${home}/local-stacks` : "/var/lib/local-stack-postgres";
}

/**
 * The data folder of the cluster for the stack in `stackDir` (made ready for the server's user,
 * not yet initialised). A folder without its cluster.json gets a fresh cluster.
 */
export async function clusterDataDir(stackDir: string): Promise<string> {
  const dir = await Deno.realPath(stackDir);
  if (Deno.uid() !== 0) return `${dir}/postgres`;
  // Before clusters moved out of the folder, root's lived in <dir>/postgres: a server of one left
  // running by a killed stack is stopped (its files are kept).
  await stopStaleServer(`${dir}/postgres`);
  const base = clustersBase();
  await ownedByPostgres(base, false);
  const runtime = `${base}/${await pathKey(dir)}`;
  const marker = await readJson(`${dir}/${CLUSTER_FILE}`);
  const owner = await readJson(`${runtime}/owner.json`);
  let token = marker?.data_dir === `${runtime}/data` ? String(marker.token ?? "") : "";
  if (!token || owner?.token !== token || owner?.stack_dir !== dir) {
    await removeRuntime(runtime);
    token = crypto.randomUUID();
    await Deno.writeTextFile(
      `${dir}/${CLUSTER_FILE}`,
      JSON.stringify({ data_dir: `${runtime}/data`, token }) + "\n",
    );
    await Deno.mkdir(runtime, { recursive: true });
    await Deno.writeTextFile(`${runtime}/owner.json`, JSON.stringify({ stack_dir: dir, token }));
    await ownedByPostgres(runtime, true);
  }
  await sweepClusters(base, runtime);
  return `${runtime}/data`;
}

/** Removes the cluster of the stack in `stackDir` (stopping its server if one was left). */
export async function removeClusterOf(stackDir: string): Promise<void> {
  if (Deno.uid() !== 0) return; // The cluster is inside the folder.
  const marker = await readJson(`${stackDir}/${CLUSTER_FILE}`);
  const dataDir = typeof marker?.data_dir === "string" ? marker.data_dir : "";
  if (dataDir.startsWith(`${clustersBase()}/`)) await removeRuntime(dirname(dataDir));
}

/** Clusters whose stack folder is gone or has a new cluster: stopped and removed. */
async function sweepClusters(base: string, keep: string): Promise<void> {
  for await (const entry of Deno.readDir(base)) {
    const runtime = `${base}/${entry.name}`;
    if (runtime === keep || !entry.isDirectory) continue;
    const owner = await readJson(`${runtime}/owner.json`);
    if (!owner) {
      // Being created right now, or half made long ago.
      const age = Date.now() - ((await Deno.stat(runtime)).mtime?.getTime() ?? Date.now());
      if (age > 3_600_000) await removeRuntime(runtime);
      continue;
    }
    const stackDir = String(owner.stack_dir);
    const marker = await readJson(`${stackDir}/${CLUSTER_FILE}`);
    if (marker?.token === owner.token) continue;
    if (await runningStack(stackDir)) continue;
    await removeRuntime(runtime);
  }
}

async function removeRuntime(runtime: string): Promise<void> {
  try {
    await Deno.stat(`${runtime}/data/postmaster.pid`);
    const [cmd, args] = asPostgresUser(`${postgresBinDir()}/pg_ctl`, [
      "stop",
      "-D",
      `${runtime}/data`,
      "-m",
      "immediate",
      "-w",
    ]);
    await run(cmd, args, { cwd: POSTGRES_CWD }).catch(() => {});
  } catch {
    // No server was left running there.
  }
  await Deno.remove(runtime, { recursive: true }).catch(() => {});
}

async function ownedByPostgres(path: string, recursive: boolean): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  await run("chown", [...(recursive ? ["-R"] : []), "postgres:postgres", path]);
  await Deno.chmod(path, 0o700);
}

async function pathKey(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(path));
  return [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

// deno-lint-ignore no-explicit-any
async function readJson(path: string): Promise<Record<string, any> | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return null;
  }
}

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
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
