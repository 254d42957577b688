// Benchmark baseline: imports supabase-js and jose and creates a client and a JWKS verifier, as
// every real function does at boot: every request verifies a JWT (the caller's token, or the
// signed OAuth state), so jose is part of the floor, not of our overhead.
import { createClient } from "@supabase/supabase-js";
import { createRemoteJWKSet, jwtVerify } from "jose";

const url = Deno.env.get("SUPABASE_URL") ?? "http://127.0.0.1";
const db = createClient(url, Deno.env.get("SUPABASE_SERVICE_ROLE_KEY") ?? "key", {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
});
const jwks = createRemoteJWKSet(new URL(`${url}/auth/v1/.well-known/jwks.json`));

/** What a request would verify with (kept, so nothing here is unused). */
const verifier = { jwks, jwtVerify };

Deno.serve(() => new Response(db && typeof verifier.jwtVerify === "function" ? "ok\n" : "no\n"));
