/** Users in the local auth.users, standing in for Supabase Auth's sign-up. */

import { psql } from "./postgres.ts";

const EMAIL = /^[^\s'"\\]+@[^\s'"\\]+$/;

/** Inserts a user with `email` and returns its id. */
export async function createUser(dbUrl: string, email: string): Promise<string> {
  if (!EMAIL.test(email)) throw new Error(`not an email: ${email}`);
  // psql interpolates :'email' (quoted safely) only in scripts read from stdin, not in -c.
  const out = await psql(
    dbUrl,
    ["-v", `email=${email}`],
    "insert into auth.users (email) values (:'email') returning id",
  );
  return out.trim();
}

export async function userIdByEmail(dbUrl: string, email: string): Promise<string | null> {
  if (!EMAIL.test(email)) throw new Error(`not an email: ${email}`);
  const out = await psql(
    dbUrl,
    ["-v", `email=${email}`],
    "select id from auth.users where email = :'email'",
  );
  return out.trim() || null;
}
