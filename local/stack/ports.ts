/**
 * Ports of the local stack: picking free ones, telling who holds one, and starting a service on
 * a free port reliably when other stacks start at the same time.
 *
 * A port picked free is released before the service binds it, so two picks can return the same
 * port (the kernel hands out a released port again), and another process can take it in between.
 * So a pick never repeats a port this process has handed out, a service counts as ready only once
 * its own process holds the port, and a service that finds its port taken is started again on
 * a new one.
 */

/** A port the stack needs is held by another process. */
export class PortInUseError extends Error {
  readonly code = "port_in_use";
  constructor(readonly port: number, readonly role: string, readonly owner: PortOwner | null) {
    const by = owner ? ` by ${describeOwner(owner)}` : "";
    super(`port ${port} (${role}) is already in use${by}`);
    this.name = "PortInUseError";
  }
}

/** The process listening on a port, as far as /proc tells. */
export interface PortOwner {
  pid: number;
  command: string;
}

/** "pid 123 (python3 -m http.server)". */
export function describeOwner(owner: PortOwner): string {
  return `pid ${owner.pid} (${owner.command})`;
}

const handedOut = new Set<number>();

/** Asks the kernel for a free TCP port on 127.0.0.1, never one this process picked before. */
export function freePort(): number {
  for (;;) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/** True when nothing listens on `port` of 127.0.0.1 (a bind would succeed now). */
export function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return false;
    throw error;
  }
}

/** Every listening socket (IPv4 and IPv6) as inode → port, from /proc/net/tcp{,6}. */
function listeningSockets(): Map<string, number> {
  const byInode = new Map<string, number>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; column 9 is the inode.
      if (cols[3] !== "0A" || !cols[9] || !cols[1]) continue;
      byInode.set(cols[9], parseInt(cols[1].split(":")[1] ?? "0", 16));
    }
  }
  return byInode;
}

/** The socket inodes listening on `port`. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const [inode, p] of listeningSockets()) if (p === port) inodes.add(inode);
  return inodes;
}

/** The socket inodes among `pid`'s open files, or null when /proc does not let us look. */
function socketInodes(pid: number): Set<string> | null {
  const inodes = new Set<string>();
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        const m = Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`).match(/^socket:\[(\d+)\]$/);
        if (m) inodes.add(m[1]!);
      } catch {
        // Closed meanwhile.
      }
    }
  } catch {
    return null;
  }
  return inodes;
}

/**
 * Whether `pid` itself listens on `port`: true, false, or null when we may not look into
 * another user's process (then callers fall back to probing the service).
 */
export function listensOn(pid: number, port: number): boolean | null {
  const listening = listeningInodes(port);
  if (listening.size === 0) return false;
  const own = socketInodes(pid);
  if (own === null) return null;
  for (const inode of listening) if (own.has(inode)) return true;
  return false;
}

/** The ports (IPv4 and IPv6) on which any of `pids` listens. */
export function listeningPortsOf(pids: number[]): number[] {
  const byInode = listeningSockets();
  const ports = new Set<number>();
  for (const pid of pids) {
    for (const inode of socketInodes(pid) ?? []) {
      const port = byInode.get(inode);
      if (port !== undefined) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** Which process listens on `port`, when /proc tells (as root it always does). */
export function portOwner(port: number): PortOwner | null {
  const listening = listeningInodes(port);
  if (listening.size === 0) return null;
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid)) continue;
    const own = socketInodes(pid);
    if (!own || ![...listening].some((inode) => own.has(inode))) continue;
    let command = "";
    try {
      command = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean)
        .join(" ");
    } catch {
      // Exited meanwhile.
    }
    return { pid, command: command.length > 80 ? `${command.slice(0, 77)}…` : command };
  }
  return null;
}

/** True when a service's output says its port was taken (Postgres, PostgREST and Deno say so). */
export function saysAddressInUse(output: string): boolean {
  return /address already in use|AddrInUse/i.test(output);
}

/**
 * Starts a service with `start(port)`: on the given fixed port, or on a free port, trying a new
 * one when the port turns out taken (a PortInUseError from `start`).
 */
export async function onPort<T>(
  role: string,
  fixed: number | null,
  start: (port: number) => Promise<T>,
  attempts = 8,
): Promise<T> {
  if (fixed !== null) {
    if (!portIsFree(fixed)) throw new PortInUseError(fixed, role, portOwner(fixed));
    return await start(fixed);
  }
  for (let attempt = 1;; attempt++) {
    try {
      return await start(freePort());
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt >= attempts) throw error;
    }
  }
}
