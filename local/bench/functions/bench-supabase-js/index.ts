// Benchmark baseline: imports only supabase-js and creates a client, as every real function does
// at boot (the cold start every function pays before its own code).
import { createClient } from "@supabase/supabase-js";

const db = createClient(
  Deno.env.get("SUPABASE_URL") ?? "http://127.0.0.1",
  Deno.env.get("SUPABASE_SERVICE_ROLE_KEY") ?? "key",
  { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } },
);

Deno.serve(() => new Response(db ? "ok\n" : "no client\n"));
