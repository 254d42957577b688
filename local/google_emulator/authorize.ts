/**
 * The authorization endpoint (`GET /o/oauth2/v2/auth`) and the consent page's answer
 * (`POST /o/oauth2/v2/auth/consent`): request checks in Google's order, the account chooser,
 * granular consent, include_granted_scopes, and the block pages that never redirect.
 *
 * @module
 */

import { OTHER_ACCOUNT, renderConsentPage } from "./consent_page.ts";
import { PKCE_S256_CHALLENGE_PATTERN, PKCE_VERIFIER_PATTERN, randomToken } from "./crypto_utils.ts";
import { errorPage, normaliseEmail, readForm, redirectWith } from "./http.ts";
import { grantedScopes, isKnownScope, isSignInScope, parseScope } from "./scopes.ts";
import {
  type BlockReason,
  type BlockRule,
  type ClientState,
  type EmulatorState,
  grantKey,
  type PendingConsent,
} from "./state.ts";

/** Path of the authorization endpoint. */
export const AUTH_PATH = "/o/oauth2/v2/auth";
/** Path the consent form posts to. */
export const CONSENT_PATH = "/o/oauth2/v2/auth/consent";

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PROMPT_VALUES = ["none", "consent", "select_account"];

/** Google's page for a block reason: HTTP status and text. */
export function blockPage(reason: BlockReason, clientId: string): Response {
  switch (reason) {
    case "disallowed_useragent":
      return errorPage(
        reason,
        `You can't sign in from this screen because ${clientId} doesn't comply with Google's ` +
          "secure browsers policy. If this app has a website, you can open a web browser and " +
          "try signing in from there.",
        403,
      );
    case "access_denied":
      return errorPage(
        reason,
        `${clientId} has not completed the Google verification process. The app is currently ` +
          "being tested, and can only be accessed by developer-approved testers. If you think " +
          "you should have access, contact the developer.",
        403,
      );
    case "org_internal":
      return errorPage(reason, "This client is restricted to users within its organization.", 403);
    case "admin_policy_enforced":
      return errorPage(
        reason,
        "Your administrator has set a policy that blocks access to this app. Contact your " +
          "administrator.",
        400,
      );
  }
}

/** Google's page for an authorization request from a client it cannot use. */
export function unusableClientPage(client: ClientState | undefined): Response | undefined {
  if (client === undefined || client.deletion === "purged") {
    // Google's page reads "Error 401"; the emulator has always answered 400 and tests pin it.
    return errorPage("invalid_client", "The OAuth client was not found.");
  }
  if (client.deletion === "deleted") {
    return errorPage("deleted_client", "The OAuth client was deleted.", 401);
  }
  return undefined;
}

function matchingBlock(
  rules: readonly BlockRule[],
  at: { clientId: string; email: string | undefined; userAgent: string },
): BlockRule | undefined {
  return rules.find((rule) =>
    (rule.clientId === undefined || rule.clientId === at.clientId) &&
    (rule.email === undefined ? at.email === undefined : rule.email === at.email) &&
    (rule.userAgentContains === undefined || at.userAgent.includes(rule.userAgentContains))
  );
}

/** `GET /o/oauth2/v2/auth`: validates the request, then shows the chooser and consent page. */
export function authorize(state: EmulatorState, req: Request, query: URLSearchParams): Response {
  const clientId = query.get("client_id");
  const client = clientId === null ? undefined : state.clients.get(clientId);
  // Without a trusted client and redirect_uri Google shows an error page and never redirects.
  const unusable = unusableClientPage(client);
  if (unusable !== undefined || client === undefined) return unusable as Response;
  const redirectUri = query.get("redirect_uri");
  if (redirectUri === null) {
    return errorPage("invalid_request", "Missing required parameter: redirect_uri");
  }
  if (!client.redirectUris.includes(redirectUri)) {
    return errorPage(
      "redirect_uri_mismatch",
      `The redirect URI in the request, ${redirectUri}, does not match the ones authorized ` +
        "for the OAuth client.",
    );
  }
  const stateParam = query.get("state") ?? undefined;
  const fail = (error: string, description: string) =>
    redirectWith(redirectUri, { error, error_description: description, state: stateParam });

  if (query.get("response_type") !== "code") {
    return fail("unsupported_response_type", "Only response_type=code is supported.");
  }
  const scopes = parseScope(query.get("scope"));
  if (scopes.length === 0) return fail("invalid_request", "Missing required parameter: scope");
  const unknown = scopes.find((scope) => !isKnownScope(scope));
  if (unknown !== undefined) return fail("invalid_scope", `Invalid scope: ${unknown}`);

  const codeChallenge = query.get("code_challenge") ?? undefined;
  const methodParam = query.get("code_challenge_method");
  if (codeChallenge === undefined && methodParam !== null) {
    return fail("invalid_request", "code_challenge_method without code_challenge");
  }
  let codeChallengeMethod: "S256" | "plain" | undefined;
  if (codeChallenge !== undefined) {
    // RFC 7636: a missing method means plain.
    const method = methodParam ?? "plain";
    if (method !== "S256" && method !== "plain") {
      return fail("invalid_request", "Invalid code_challenge_method");
    }
    const pattern = method === "S256" ? PKCE_S256_CHALLENGE_PATTERN : PKCE_VERIFIER_PATTERN;
    if (!pattern.test(codeChallenge)) return fail("invalid_request", "Invalid code_challenge");
    codeChallengeMethod = method;
  }
  const accessType = query.get("access_type") ?? "online";
  if (accessType !== "online" && accessType !== "offline") {
    return fail("invalid_request", `Invalid access_type: ${accessType}`);
  }
  const prompt = parseScope(query.get("prompt"));
  if (
    prompt.some((value) => !PROMPT_VALUES.includes(value)) ||
    (prompt.includes("none") && prompt.length > 1)
  ) {
    return fail("invalid_request", "Invalid prompt");
  }
  // The emulator has no browser session, so a silent request is always a signed-out one.
  if (prompt.includes("none")) return fail("interaction_required", "No signed-in session.");

  const block = matchingBlock(state.blocks, {
    clientId: client.clientId,
    email: undefined,
    userAgent: req.headers.get("user-agent") ?? "",
  });
  if (block !== undefined) {
    state.stats.blockedAuthorizations += 1;
    return blockPage(block.reason, client.clientId);
  }

  const consentId = randomToken("", 24);
  const loginHint = query.get("login_hint") ?? undefined;
  state.consents.set(consentId, {
    clientId: client.clientId,
    redirectUri,
    state: stateParam,
    scopes,
    codeChallenge,
    codeChallengeMethod,
    accessType,
    prompt,
    nonce: query.get("nonce") ?? undefined,
    loginHint,
    includeGrantedScopes: query.get("include_granted_scopes") === "true",
    expiresAt: state.now() + state.config.codeTtlSeconds * 1000,
  });
  return chooserPage(state, consentId, state.consents.get(consentId)!, 200, {});
}

/** The chooser and consent page for a pending consent. */
function chooserPage(
  state: EmulatorState,
  consentId: string,
  pending: PendingConsent,
  status: number,
  extra: { error?: string; typedEmail?: string },
): Response {
  const html = renderConsentPage({
    action: state.publicUrl(CONSENT_PATH),
    consentId,
    clientId: pending.clientId,
    scopes: pending.scopes,
    accounts: [...state.accounts.keys()],
    loginHint: pending.loginHint,
    selectAccount: pending.prompt.includes("select_account"),
    ...extra,
  });
  return new Response(html, {
    status,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  });
}

/** The page again after an unusable email; the consent stays pending. */
function chooserAgain(
  state: EmulatorState,
  consentId: string,
  pending: PendingConsent,
  typedEmail: string,
  error: string,
): Response {
  return chooserPage(state, consentId, pending, 400, { error, typedEmail });
}

/** `POST /o/oauth2/v2/auth/consent`: the person chose an account and allowed or cancelled. */
export async function consent(state: EmulatorState, req: Request): Promise<Response> {
  const form = await readForm(req);
  if (form === undefined) return errorPage("invalid_request", "Expected a form post.");
  const consentId = form.get("consent_id") ?? "";
  const pending = state.consents.get(consentId);
  // Answered consents are deleted, so a replayed consent_id lands here too.
  if (pending === undefined || pending.expiresAt <= state.now()) {
    return errorPage("invalid_request", "Unknown, expired or already answered consent request.");
  }
  const action = form.get("action");
  if (action !== "allow" && action !== "cancel") {
    return errorPage("invalid_request", "action must be allow or cancel.");
  }
  const stateParam = pending.state;
  if (action === "cancel") {
    state.consents.delete(consentId);
    return redirectWith(pending.redirectUri, { error: "access_denied", state: stateParam });
  }
  // The typed field wins; the chooser's radio is the fallback, and offers known accounts only.
  const typed = form.get("email")?.trim() ?? "";
  const listed = form.get("account") === OTHER_ACCOUNT ? "" : form.get("account");
  const chosen = normaliseEmail(typed || listed || "");
  // No dead end: the same page again, with what to do under the email field.
  if (!EMAIL_PATTERN.test(chosen)) {
    return chooserAgain(state, consentId, pending, typed, "Enter a valid email to continue.");
  }
  if (typed === "" && !state.accounts.has(chosen)) {
    return chooserAgain(state, consentId, pending, typed, "That account is not in the list.");
  }
  const client = state.clients.get(pending.clientId);
  const unusable = unusableClientPage(client);
  if (unusable !== undefined || client === undefined) return unusable as Response;

  // Blocks tied to an account show once the account is chosen, and then never redirect.
  const block = matchingBlock(state.blocks, {
    clientId: client.clientId,
    email: chosen,
    userAgent: req.headers.get("user-agent") ?? "",
  });
  const notTester = client.publishing === "testing" && client.testUsers !== undefined &&
    !client.testUsers.has(chosen);
  if (block !== undefined || notTester) {
    state.consents.delete(consentId);
    state.stats.blockedAuthorizations += 1;
    return blockPage(block?.reason ?? "access_denied", client.clientId);
  }
  state.consents.delete(consentId);

  const ticked = new Set(form.getAll("scope"));
  const picked = pending.scopes.filter((scope) => isSignInScope(scope) || ticked.has(scope));
  const key = grantKey(chosen, pending.clientId);
  const previous = pending.includeGrantedScopes ? state.grants.get(key) : undefined;
  const scopes = grantedScopes([...picked, ...(previous ?? [])]);
  if (scopes.length === 0) {
    return redirectWith(pending.redirectUri, { error: "access_denied", state: stateParam });
  }

  await state.ensureAccount(chosen);
  state.grants.set(key, new Set([...(state.grants.get(key) ?? []), ...scopes]));
  const code = randomToken("4/0A", 48);
  state.codes.set(code, {
    clientId: pending.clientId,
    redirectUri: pending.redirectUri,
    email: chosen,
    scopes,
    codeChallenge: pending.codeChallenge,
    codeChallengeMethod: pending.codeChallengeMethod,
    accessType: pending.accessType,
    prompt: pending.prompt,
    nonce: pending.nonce,
    expiresAt: state.now() + state.config.codeTtlSeconds * 1000,
    used: false,
  });
  return redirectWith(pending.redirectUri, {
    state: stateParam,
    iss: state.issuer,
    code,
    scope: scopes.join(" "),
    authuser: "0",
    prompt: "consent",
  });
}
