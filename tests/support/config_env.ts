/** A minimal valid environment for loadConfig(), for tests that vary one variable at a time. */

/** A fixed key that passes the weak-key check (not all one byte, no repeated pattern). */
export const ENCRYPTION_KEY = "k1:q3Xv9LmT0bR7wYc2NhE5uJ8sKdPzFgA1oViWtM4lQeU";

export const VALID_ENV: Readonly<Record<string, string>> = Object.freeze({
  SUPABASE_URL: "https://abc.supabase.co",
  SUPABASE_SERVICE_ROLE_KEY: "service-role-key",
  GOOGLE_CLIENT_ID: "id.apps.googleusercontent.com",
  GOOGLE_CLIENT_SECRET: "secret",
  GOOGLE_REDIRECT_URI: "https://abc.supabase.co/functions/v1/google-callback",
  OAUTH_STATE_SECRET: "T7q!mZ2#vK9pL4xR8wN1cB6yH3jF0dS5gA",
  TOKEN_ENCRYPTION_KEY: ENCRYPTION_KEY,
});
