/** HTML pages of the authorization endpoint: the consent screen and Google-style error pages. */

import { isSignInScope } from "./scopes.ts";

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/** What the consent screen shows. */
export interface ConsentPageOptions {
  /** Absolute URL the form posts to. */
  action: string;
  consentId: string;
  clientId: string;
  /** Requested scopes, in request order. */
  scopes: readonly string[];
  /** Accounts offered in the chooser. */
  accounts: readonly string[];
  loginHint: string | undefined;
  /** `prompt=select_account`: the chooser is shown with no account picked in advance. */
  selectAccount?: boolean;
}

/**
 * Renders the account chooser plus granular consent: sign-in scopes are listed as always granted,
 * every other scope gets a ticked checkbox the person may untick.
 */
export function renderConsentPage(options: ConsentPageOptions): string {
  const hint = options.loginHint ?? "";
  // With select_account the person must pick; login_hint then only fills the typed field.
  const preselect = options.selectAccount === true ? undefined : hint;
  const accounts = options.accounts.map((email) =>
    `<li><label><input type="radio" name="account" value="${escapeHtml(email)}"${
      email === preselect ? " checked" : ""
    }> ${escapeHtml(email)}</label></li>`
  ).join("\n");
  const signIn = options.scopes.filter(isSignInScope);
  const granular = options.scopes.filter((scope) => !isSignInScope(scope));
  const signInItems = signIn.map((scope) => `<li>${escapeHtml(scope)}</li>`).join("\n");
  const checkboxes = granular.map((scope) =>
    `<li><label><input type="checkbox" name="scope" value="${escapeHtml(scope)}" checked> ${
      escapeHtml(scope)
    }</label></li>`
  ).join("\n");
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in - Google Accounts (emulator)</title></head>
<body>
<h1>Choose an account</h1>
<p>to continue to <strong>${escapeHtml(options.clientId)}</strong></p>
<form method="post" action="${escapeHtml(options.action)}" data-select-account="${
    options.selectAccount === true
  }">
<input type="hidden" name="consent_id" value="${escapeHtml(options.consentId)}">
<ul>
${accounts}
</ul>
<p><label>Email or phone <input type="email" name="email" value="${escapeHtml(hint)}"></label></p>
<h2>Always granted</h2>
<ul>
${signInItems}
</ul>
<h2>Select what the app can access</h2>
<ul>
${checkboxes}
</ul>
<button type="submit" name="action" value="cancel">Cancel</button>
<button type="submit" name="action" value="allow">Allow</button>
</form>
</body>
</html>
`;
}

/** Renders Google's "Error <status>: <code>" page used when the emulator must not redirect. */
export function renderErrorPage(error: string, description: string, status = 400): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Error ${status} (emulator)</title></head>
<body>
<h1>Access blocked: authorization error</h1>
<p><strong data-error="${escapeHtml(error)}">Error ${status}: ${escapeHtml(error)}</strong></p>
<p>${escapeHtml(description)}</p>
</body>
</html>
`;
}
