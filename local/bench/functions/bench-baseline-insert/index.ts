/**
 * Benchmark baseline for google-connect: reads the same JSON body, then makes the one database
 * round trip google-connect cannot avoid (the `google_oauth_begin_flow` RPC through PostgREST, with
 * the service key, through supabase-js) and answers with JSON. No caller check, no PKCE, no JWT,
 * no URL: what is left when our own work is taken away.
 */
import { createClient } from "@supabase/supabase-js";

const db = createClient(Deno.env.get("SUPABASE_URL")!, Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!, {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  db: { retry: false },
});
// A verifier-shaped value (43 base64url characters), fixed: no randomness beyond the jti.
const VERIFIER = "benchmarkbaselineverifier0123456789abcdefgh";

Deno.serve(async (req) => {
  const body = await req.json().catch(() => null) as { user_id?: string } | null;
  if (!body?.user_id) return Response.json({ code: "invalid_request" }, { status: 400 });
  const { user_id } = body;
  const { data, error } = await db.rpc("google_oauth_begin_flow", {
    p_user_id: user_id,
    p_jti: crypto.randomUUID(),
    p_code_verifier: VERIFIER,
    p_expires_at: new Date(Date.now() + 600_000).toISOString(),
    p_expected_google_email: null,
  });
  if (error) return Response.json({ code: "database_unavailable" }, { status: 503 });
  return Response.json({ ok: true, has_refresh_token: data?.has_refresh_token === true });
});
