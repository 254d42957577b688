/**
 * The maintenance RPCs, typed by the generated schema: a renamed RPC or argument fails
 * `deno check`. Also the rows they return, with the columns the schema cannot mark nullable (a
 * function's result columns) marked so here.
 */

import type { Database } from "../_google_calendar/database.types.ts";
import { type AdminClient, databaseError } from "../_google_calendar/supabase_admin.ts";

type Rpcs = Database["public"]["Functions"];
type RpcName = keyof Rpcs & string;
type RpcArgs<N extends RpcName> = Rpcs[N]["Args"];
/** What RPC `N` returns. */
export type RpcReturns<N extends RpcName> = Rpcs[N]["Returns"];

/** Calls an RPC by name; database errors become AppError database_unavailable. */
export type Rpc = <N extends RpcName>(
  name: N,
  args: RpcArgs<N>,
) => Promise<RpcReturns<N>>;

/** An Rpc over `db`, each call wrapped by `around` (the runner times and counts them). */
export function createRpc(
  db: AdminClient,
  around: <T>(call: () => Promise<T>) => Promise<T>,
): Rpc {
  return <N extends RpcName>(name: N, args: RpcArgs<N>) =>
    around(async () => {
      // supabase-js cannot resolve its overloads for a generic name; the Rpc type is what
      // checks the call.
      const call = db.rpc as unknown as (
        name: N,
        args: RpcArgs<N>,
      ) => Promise<
        {
          data: RpcReturns<N>;
          error: { code?: string; message?: string } | null;
        }
      >;
      const { data, error } = await call.call(db, name, args);
      if (error) throw databaseError(error);
      return data;
    });
}

type Nullable<T, K extends keyof T> = Omit<T, K> & { [P in K]: T[P] | null };

/** A claimed revocation-queue entry. */
export type RevocationRow = Nullable<
  RpcReturns<"google_calendar_revocation_claim">[number],
  "google_sub" | "key_id" | "cause"
>;
/** A token row under an old key. */
export type RewrapRow = RpcReturns<"google_maintenance_rewrap_batch_held">[number];
/** A revocation-queue row under an old key. */
export type RevocationRewrapRow = RpcReturns<
  "google_calendar_revocation_rewrap_batch_held"
>[number];
