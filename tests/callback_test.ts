/**
 * google-callback's outcomes other than a plain first connect: declined or partial consent, a
 * PKCE mismatch, re-consent without a refresh token, and what every answer looks like.
 */

import { CALENDAR_SCOPE } from "../supabase/functions/_google_calendar/google_facts.ts";
import assert from "node:assert/strict";
import {
  consentedFlow,
  decryptedRow,
  emulatorAccount,
  expectCallback,
  pendingFlowCount,
  redeemAtEmulator,
  stateClaims,
  verifierOf,
  withParam,
} from "./support/flows.ts";
import {
  connectedUser,
  connectUrl,
  consent,
  createUser,
  googleEmail,
  sql,
  stack,
  tokenRow,
} from "./support/stack.ts";

interface RawAnswer {
  status: number;
  headers: Headers;
  body: string;
}

async function rawCallback(url: URL | string, method = "GET"): Promise<RawAnswer> {
  const res = await fetch(url, { method, redirect: "manual" });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

function assertSafeAnswer(answer: RawAnswer, secrets: string[] = []): void {
  assert.deepEqual(answer.headers.get("cache-control"), "no-store");
  assert.deepEqual(answer.headers.get("referrer-policy"), "no-referrer");
  const location = answer.headers.get("location") ?? "";
  for (const leak of ["code=", "state=", ...secrets]) {
    assert(!location.includes(leak), `the Location holds no ${leak.slice(0, 12)}…`);
    assert(!answer.body.includes(leak), `the body holds no ${leak.slice(0, 12)}…`);
  }
}

Deno.test("google-callback: declined consent is reported as denied and stores nothing", async () => {
  const user = await createUser("deny");
  const cb = await consent(await connectUrl(user.id), { email: googleEmail(), action: "cancel" });
  await expectCallback(cb, { result: "denied", reason: "consent_denied" });
  assert.deepEqual(await tokenRow(user.id), null);
});

Deno.test("google-callback: consent without the calendar scope is partial and stores nothing", async () => {
  const user = await createUser("partial");
  const cb = await consent(await connectUrl(user.id), {
    email: googleEmail(),
    uncheck: [CALENDAR_SCOPE],
  });
  assert(!(cb.searchParams.get("scope") ?? "").includes(CALENDAR_SCOPE), "Google left it out");
  await expectCallback(cb, { result: "partial", reason: "google_scope_missing" });
  assert.deepEqual(await tokenRow(user.id), null);
  // Finding 2: Google's grant (email, profile) is live; it is queued for revocation with its
  // Google account, so the maintenance pass revokes it unless a user holds that account.
  assert.deepEqual(
    await sql(
      "select cause, google_sub is not null from public.google_calendar_revocations " +
        "where user_id = :'id'",
      { id: user.id },
    ),
    ["partial_consent|t"],
  );
});

Deno.test("google-callback: a grant whose save fails is queued for revocation, not left live", async () => {
  const user = await createUser("save-fails");
  // The save fails for this user only (a trigger raising on their row), as a database error would.
  await sql(
    `create function public.test_fail_save_${user.id.replaceAll("-", "")}() returns trigger
       language plpgsql as $f$ begin raise exception 'save refused by the test'; end $f$;
     create trigger test_fail_save_${user.id.replaceAll("-", "")}
       before insert on public.google_calendar_tokens for each row
       when (new.user_id = '${user.id}')
       execute function public.test_fail_save_${user.id.replaceAll("-", "")}();`,
  );
  try {
    const cb = await consent(await connectUrl(user.id), { email: googleEmail() });
    await expectCallback(cb, { result: "error", reason: "database_unavailable" });
  } finally {
    await sql(
      `drop trigger test_fail_save_${user.id.replaceAll("-", "")} on public.google_calendar_tokens;
       drop function public.test_fail_save_${user.id.replaceAll("-", "")}();`,
    );
  }
  assert.deepEqual(await tokenRow(user.id), null);
  assert.deepEqual(
    await sql(
      "select cause, google_sub is not null from public.google_calendar_revocations " +
        "where user_id = :'id'",
      { id: user.id },
    ),
    ["save_failed|t"],
  );
});

Deno.test("google-callback: a code exchanged with another PKCE verifier is refused by Google", async () => {
  const flow = await consentedFlow({ prefix: "pkce" });
  const code = flow.callbackUrl.searchParams.get("code")!;
  const realVerifier = await verifierOf(flow.state);
  const changed = await sql(
    "update public.google_oauth_pending_flows set code_verifier = :'v' where jti = :'jti' " +
      "returning jti",
    { v: "v".repeat(64), jti: stateClaims(flow.state).jti },
  );
  assert.deepEqual(changed.length, 1, "the pending flow was altered");
  await expectCallback(flow.callbackUrl, { result: "error", reason: "google_error" });
  assert.deepEqual(await tokenRow(flow.user.id), null);
  // The function did take the code to Google (with the altered verifier): it is spent now.
  assert.deepEqual(await redeemAtEmulator(code, realVerifier), {
    status: 400,
    error: "invalid_grant",
  });
});

Deno.test("google-callback: a flow whose verifier is gone is expired and never reaches Google", async () => {
  const flow = await consentedFlow({ prefix: "noflow" });
  const verifier = await verifierOf(flow.state);
  await sql("delete from public.google_oauth_pending_flows where jti = :'jti'", {
    jti: stateClaims(flow.state).jti,
  });
  await expectCallback(flow.callbackUrl, { result: "expired", reason: "flow_not_found" });
  assert.deepEqual(await tokenRow(flow.user.id), null);
  // The code was never sent to Google: it can still be redeemed once.
  const code = flow.callbackUrl.searchParams.get("code")!;
  assert.deepEqual(await redeemAtEmulator(code, verifier), { status: 200 });
});

Deno.test("google-callback: re-consent with the same account keeps the refresh token Google did not resend", async () => {
  const { user, google } = await connectedUser("reconsent");
  const first = (await decryptedRow(user.id))!;

  const url = await connectUrl(user.id);
  assert.deepEqual(url.searchParams.get("prompt"), "select_account");
  await expectCallback(await consent(url, { email: google }), { result: "connected" });

  const issued = await emulatorAccount(google);
  assert.deepEqual(issued.refreshTokens.length, 1, "Google issued no second refresh token");
  const second = (await decryptedRow(user.id))!;
  assert.deepEqual(second.refreshToken, first.refreshToken, "refresh token kept");
  assert.notDeepEqual(second.accessToken, first.accessToken, "access token replaced");
  assert.deepEqual(second.accessToken, issued.latestAccessToken!.token);
});

Deno.test("google-callback: re-consent with another account and no refresh token keeps the old tokens, and the next link forces consent", async () => {
  const { user } = await connectedUser("switch");
  // Another user connected `other` before, so Google sends no refresh token for it now.
  const { google: other } = await connectedUser("other");
  const before = await tokenRow(user.id);

  const url = await connectUrl(user.id);
  assert.deepEqual(url.searchParams.get("prompt"), "select_account");
  await expectCallback(await consent(url, { email: other }), {
    result: "error",
    reason: "google_refresh_token_missing",
  });
  assert.deepEqual((await emulatorAccount(other)).refreshTokens.length, 1, "no new refresh token");
  const after = await tokenRow(user.id);
  for (const column of ["access_token", "refresh_token", "google_sub", "token_expiry"]) {
    assert.deepEqual(after?.[column], before?.[column], `${column} intact`);
  }
  assert.deepEqual(after?.last_refresh_error, "google_refresh_token_missing");

  // The fix the person is told: a new link. It forces consent, so Google sends a refresh token.
  const retry = await connectUrl(user.id);
  assert.deepEqual(retry.searchParams.get("prompt"), "select_account consent");
  await expectCallback(await consent(retry, { email: other }), { result: "connected" });
  const issued = await emulatorAccount(other);
  assert.deepEqual((await decryptedRow(user.id))?.refreshToken, issued.refreshTokens.at(-1)?.token);
  assert.deepEqual((await tokenRow(user.id))?.last_refresh_error, null);
});

Deno.test("google-callback: refuses POST with 405 and Allow: GET", async () => {
  const flow = await consentedFlow({ prefix: "post" });
  const answer = await rawCallback(flow.callbackUrl, "POST");
  assert.deepEqual(answer.status, 405);
  assert.deepEqual(answer.headers.get("allow"), "GET");
  assertSafeAnswer(answer);
  assert.deepEqual(await tokenRow(flow.user.id), null);
  assert.deepEqual(await pendingFlowCount(flow.user.id), 1, "the flow was not used");
});

Deno.test("google-callback: every answer is no-store, no-referrer and leaks nothing from the request", async () => {
  const flow = await consentedFlow({ prefix: "answers" });
  const code = flow.callbackUrl.searchParams.get("code")!;
  const markup = "<script>alert(1)</script>";
  const withMarkup = new URL(flow.callbackUrl);
  withMarkup.searchParams.set("x", markup);

  const connected = await rawCallback(withMarkup);
  assert.deepEqual(connected.status, 303);
  assert.deepEqual(
    new URL(connected.headers.get("location")!).searchParams.get("result"),
    "connected",
  );
  const issued = await emulatorAccount(flow.google);
  const tokens = [issued.latestAccessToken!.token, issued.refreshTokens[0]!.token];

  const denied = await consent(await connectUrl(flow.user.id), {
    email: flow.google,
    action: "cancel",
  });
  denied.searchParams.set("error_description", markup);
  const answers = [
    connected,
    await rawCallback(withMarkup), // replay
    await rawCallback(denied),
    await rawCallback(withParam(flow.callbackUrl, "state", [])),
    await rawCallback(withParam(flow.callbackUrl, "state", [markup])),
    await rawCallback(`${stack.functions_url}/google-callback?${markup}`),
    await rawCallback(flow.callbackUrl, "POST"),
  ];
  for (const answer of answers) {
    assertSafeAnswer(answer, [code, flow.state, ...tokens, "<script", "alert(", "%3Cscript"]);
  }
});
