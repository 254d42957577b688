/**
 * `npm run user -- <email>`: creates that user in the local auth.users if needed and prints
 * its id and an access token (ES256, one hour), as signing in through Supabase Auth would give.
 */

import { userAccessToken } from "./keys.ts";
import type { StackInfo } from "./stack.ts";
import type { StackSecrets } from "./keys.ts";
import { createUser, userIdByEmail } from "./users.ts";

const email = Deno.args[0];
if (!email) {
  console.error("usage: npm run user -- <email>");
  Deno.exit(2);
}
const dir = Deno.env.get("STACK_DIR") ?? ".local";
const info: StackInfo = JSON.parse(await Deno.readTextFile(`${dir}/stack.json`));
const secrets: StackSecrets = JSON.parse(await Deno.readTextFile(info.secrets_file));
const userId = await userIdByEmail(info.db_url, email) ?? await createUser(info.db_url, email);
const token = await userAccessToken(secrets, { apiUrl: info.api_url, userId, email });
console.log(JSON.stringify({ user_id: userId, email, access_token: token }, null, 2));
