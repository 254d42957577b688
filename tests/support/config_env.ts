/** A minimal valid environment for loadConfig(), for tests that vary one variable at a time. */

export const ENCRYPTION_KEY = "k1:" + "A".repeat(43);

export const VALID_ENV: Readonly<Record<string, string>> = Object.freeze({
  SUPABASE_URL: "https://abc.supabase.co",
  SUPABASE_SERVICE_ROLE_KEY: "service-role-key",
  GOOGLE_CLIENT_ID: "id.apps.googleusercontent.com",
  GOOGLE_CLIENT_SECRET: "secret",
  GOOGLE_REDIRECT_URI: "https://abc.supabase.co/functions/v1/google-callback",
  OAUTH_STATE_SECRET: "s".repeat(32),
  TOKEN_ENCRYPTION_KEY: ENCRYPTION_KEY,
});
