/**
 * google-connect → Google consent (emulator) → google-callback, end to end through the gateway:
 * the consent URL, the stored row, a second connect, and the bound on pending flows.
 */

import { decodeProtectedHeader } from "jose";
import { CALENDAR_SCOPE } from "../supabase/functions/_google_calendar/google_facts.ts";
import assert from "node:assert/strict";
import {
  config,
  decryptedRow,
  emulatorAccount,
  expectCallback,
  pendingFlowCount,
  stateClaims,
} from "./support/flows.ts";
import {
  callAsService,
  callback,
  connectedUser,
  connectUrl,
  consent,
  createUser,
  googleEmail,
  sql,
  stack,
} from "./support/stack.ts";

Deno.test("google-connect: the consent URL asks for offline calendar access with PKCE and a signed state", async () => {
  const user = await createUser("url");
  const before = Date.now();
  const res = await callAsService("google-connect", { body: { user_id: user.id } });
  assert.deepEqual(res.status, 200);
  const body = await res.json();
  const url = new URL(body.auth_url);
  const q = url.searchParams;

  assert.deepEqual(`${url.origin}${url.pathname}`, `${stack.google_emulator_url}/o/oauth2/v2/auth`);
  assert.deepEqual(q.get("client_id"), stack.google_client_id);
  assert.deepEqual(q.get("redirect_uri"), stack.google_redirect_uri);
  assert.deepEqual(q.get("response_type"), "code");
  const scopes = (q.get("scope") ?? "").split(" ");
  for (const s of [CALENDAR_SCOPE, "openid", "email"]) assert(scopes.includes(s), `scope ${s}`);
  assert.deepEqual(q.get("access_type"), "offline");
  assert.deepEqual(
    q.get("prompt"),
    "select_account consent",
    "Google's account chooser always; consent forced on a first connect",
  );
  assert.deepEqual(q.get("code_challenge_method"), "S256");
  assert(/^[A-Za-z0-9_-]{43}$/.test(q.get("code_challenge") ?? ""), "an S256 challenge");

  const state = q.get("state")!;
  assert.deepEqual(decodeProtectedHeader(state), { alg: "HS256", typ: "oauth-state+jwt" });
  const claims = stateClaims(state);
  assert.deepEqual(claims.sub, undefined, "the state names the flow, not the user");
  assert(!url.href.includes(user.id), "the user id appears nowhere in Google's URL");
  assert.deepEqual(claims.aud, config.state.audience);

  const [verifier] = await sql(
    "select code_verifier from public.google_oauth_pending_flows where jti = :'jti'",
    { jti: claims.jti },
  );
  assert(verifier, "the verifier is kept server side");
  assert(!q.has("code_verifier"), "no code_verifier parameter");
  assert(!url.href.includes(verifier!), "the verifier is nowhere in the URL");

  const expiresAt = Date.parse(body.expires_at);
  assert(expiresAt > before, "expires_at is in the future");
  assert(expiresAt <= Date.now() + 10 * 60_000, "expires_at is at most 10 minutes ahead");
});

Deno.test("google-connect: a full consent stores exactly the tokens Google issued, encrypted", async () => {
  const user = await createUser("full");
  const google = googleEmail();
  const cb = await consent(await connectUrl(user.id), { email: google });
  const answer = await callback(cb);
  assert.deepEqual(answer.status, 303);
  assert.deepEqual(answer.result, "connected");
  assert.deepEqual(
    new URL(answer.location!).origin + new URL(answer.location!).pathname,
    stack.result_page_url,
  );

  const issued = await emulatorAccount(google);
  assert.deepEqual(issued.refreshTokens.length, 1, "one refresh token issued");
  const row = await decryptedRow(user.id);
  assert(row, "a row is stored");
  assert.deepEqual(row.accessToken, issued.latestAccessToken!.token);
  assert.deepEqual(row.refreshToken, issued.refreshTokens[0]!.token);
  assert.deepEqual(row.googleSub, issued.sub);
  assert.deepEqual(row.googleEmail, google);
  for (const ciphertext of [row.ciphertexts.access, row.ciphertexts.refresh]) {
    assert(!ciphertext.includes(row.accessToken), "no access token in clear");
    assert(!ciphertext.includes(row.refreshToken), "no refresh token in clear");
  }
  assert.deepEqual(await pendingFlowCount(user.id), 0, "the pending flow is used up");
});

Deno.test("google-connect: a connected user's link does not force consent and keeps the login_hint", async () => {
  const { user, google } = await connectedUser("again");
  const url = await connectUrl(user.id, google);
  assert.deepEqual(url.searchParams.get("prompt"), "select_account", "no consent once connected");
  assert.deepEqual(url.searchParams.get("login_hint"), google);
  assert.deepEqual(url.searchParams.get("access_type"), "offline");
});

Deno.test("google-connect: only a user's newest link works; every older one is void", async () => {
  const user = await createUser("newest");
  const urls: URL[] = [];
  for (let i = 0; i < 3; i++) urls.push(await connectUrl(user.id));
  assert.deepEqual(await pendingFlowCount(user.id), 1, "one pending flow per user");

  const google = googleEmail();
  for (const old of urls.slice(0, 2)) {
    await expectCallback(await consent(old, { email: google }), {
      result: "expired",
      reason: "flow_not_found",
    });
  }
  assert.deepEqual(await decryptedRow(user.id), null, "nothing stored from an older link");
  await expectCallback(await consent(urls[2]!, { email: google }), { result: "connected" });
});
