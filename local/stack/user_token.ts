/**
 * `npm run user -- <email>`: creates that user in the local auth.users if needed and prints
 * its id and an access token (ES256, one hour), as signing in through Supabase Auth would give.
 */

import { userAccessToken } from "./keys.ts";
import type { StackInfo } from "./stack.ts";
import type { StackSecrets } from "./keys.ts";
import { createUser, userIdByEmail } from "./users.ts";

const USAGE = `Usage: npm run user -- <email>

Creates that user in the running local stack's auth.users if needed, and prints its id and an
access token (ES256, one hour), as signing in through Supabase Auth would give. The stack is the
one in .local (or $STACK_DIR); start it with \`npm start\`.`;

const email = Deno.args[0];
if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
  console.log(USAGE);
  Deno.exit(0);
}
if (!email || Deno.args.length !== 1 || !/^[^\s@]+@[^\s@]+$/.test(email)) {
  console.error(email ? `not an email address: ${email}\n\n${USAGE}` : USAGE);
  Deno.exit(2);
}
const dir = Deno.env.get("STACK_DIR") ?? ".local";
let info: StackInfo;
try {
  info = JSON.parse(await Deno.readTextFile(`${dir}/stack.json`));
} catch {
  console.error(`No local stack in ${dir}: start one with \`npm start\` (or set STACK_DIR).`);
  Deno.exit(1);
}
const secrets: StackSecrets = JSON.parse(await Deno.readTextFile(info.secrets_file));
const userId = await userIdByEmail(info.db_url, email) ?? await createUser(info.db_url, email);
const token = await userAccessToken(secrets, { apiUrl: info.api_url, userId, email });
console.log(JSON.stringify({ user_id: userId, email, access_token: token }, null, 2));
