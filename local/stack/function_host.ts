/**
 * Runs one Edge Function entrypoint as deployed code runs it: the entrypoint calls
 * `Deno.serve(handler)` with no port, as on Supabase, and this host binds it to the port
 * the gateway routes to.
 *
 * Usage: deno run --allow-net --allow-env --allow-read function_host.ts <entrypoint> <port>
 */

const [entrypoint, portArg] = Deno.args;
const port = Number(portArg);
if (!entrypoint || !Number.isInteger(port) || port <= 0) {
  console.error("usage: function_host.ts <path/to/index.ts> <port>");
  Deno.exit(2);
}

const serve = Deno.serve.bind(Deno);
let served = false;
// deno-lint-ignore no-explicit-any
(Deno as any).serve = (...args: unknown[]) => {
  if (served) throw new Error("an Edge Function may call Deno.serve only once");
  served = true;
  const handler = args.find((a) => typeof a === "function") as Deno.ServeHandler | undefined;
  const given = args.find((a) => typeof a === "object" && a !== null) as
    | (Deno.ServeOptions & { handler?: Deno.ServeHandler })
    | undefined;
  const fn = handler ?? given?.handler;
  if (!fn) throw new Error("Deno.serve was called without a handler");
  return serve({ hostname: "127.0.0.1", port, onListen: () => {} }, fn);
};

await import(new URL(entrypoint, `file://${Deno.cwd()}/`).href);
if (!served) {
  console.error(`${entrypoint} did not call Deno.serve`);
  Deno.exit(1);
}
