/**
 * The functions' own database client: service credentials, no session, a timeout on every
 * request. Never built from a caller's Authorization header.
 */

import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "./database.types.ts";
import { AppError } from "./errors.ts";

/** Typed with the generated schema: a renamed column or RPC argument fails `deno check`. */
export type AdminClient = SupabaseClient<Database>;

/** The functions' database client for `config` (its URL, admin key and timeout). */
export function adminClientFor(
  config: { supabaseUrl: string; adminKey: string; httpTimeoutMs: number },
): AdminClient {
  return createAdminClient(config.supabaseUrl, {
    key: config.adminKey,
    timeoutMs: config.httpTimeoutMs,
  });
}

/** A client with service credentials, no session, retries off and a timeout on every request. */
export function createAdminClient(
  supabaseUrl: string,
  options: { key: string; timeoutMs: number },
): AdminClient {
  return createClient<Database>(supabaseUrl, options.key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { fetch: fetchWithTimeout(options.timeoutMs) },
    // postgrest-js retries reads (GET) on network errors, timeouts and 503s, three times with
    // 1 s, 2 s and 4 s pauses (or Retry-After): a read could take 4 × HTTP_TIMEOUT_MS + 7 s,
    // breaking the promise that every outbound call gives up at HTTP_TIMEOUT_MS. Callers
    // (getGoogleAccessToken, the bot) decide about retrying.
    db: { retry: false },
  });
}

/** `fetch` that gives up after `timeoutMs` (as well as on the caller's own signal). */
export function fetchWithTimeout(timeoutMs: number): typeof fetch {
  return (input, init = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return fetch(input, { ...init, signal });
  };
}

/** A PostgREST or network failure as an AppError; the details stay in `cause` for our logs. */
export function databaseError(error: { code?: string; message?: string }): AppError {
  return new AppError("database_unavailable", "The database is not available right now.", {
    cause: { name: "PostgrestError", code: error.code ?? "network" },
  });
}

/**
 * An RPC argument that may be SQL NULL. `supabase gen types` types every function argument as
 * non-null (SQL cannot declare otherwise); PostgREST passes JSON null through as NULL.
 */
export function nullable<T>(value: T | null | undefined): T {
  return (value ?? null) as T;
}
