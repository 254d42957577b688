/**
 * HTML pages of the authorization endpoint: the account chooser with granular consent, and
 * Google-style error pages. The chooser looks like a product demo (people try the kit with it),
 * lists the accounts the emulator knows plus "Use another account", and never dead-ends: an
 * empty or invalid email gets an inline message, in the browser and again from the server.
 */

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
  /** A message for the person, shown under the email field (the server refused the answer). */
  error?: string;
  /** The email the person typed, kept when the page comes back with an error. */
  typedEmail?: string;
}

/** The radio value of "Use another account". */
export const OTHER_ACCOUNT = "__other__";

/** What each scope lets the app do, in the words of Google's consent screen. */
const SCOPE_TEXT: Readonly<Record<string, string>> = {
  openid: "Associate you with your personal info on Google",
  email: "See your primary Google Account email address",
  profile: "See your personal info, including any personal info you've made publicly available",
  "https://www.googleapis.com/auth/userinfo.email": "See your primary Google Account email address",
  "https://www.googleapis.com/auth/userinfo.profile": "See your personal info",
  "https://www.googleapis.com/auth/calendar.events": "View and edit events on all your calendars",
  "https://www.googleapis.com/auth/calendar.events.readonly": "View events on all your calendars",
  "https://www.googleapis.com/auth/calendar":
    "See, edit, share, and permanently delete all the calendars you can access using Google Calendar",
  "https://www.googleapis.com/auth/calendar.readonly":
    "See and download any calendar you can access using your Google Calendar",
  "https://www.googleapis.com/auth/calendar.freebusy":
    "See the availability on Google calendars you have access to",
  "https://www.googleapis.com/auth/calendar.events.freebusy":
    "See the availability on Google calendars you have access to",
};

const AVATAR_COLOURS = ["#1a73e8", "#d93025", "#188038", "#e37400", "#9334e6", "#007b83"];

/** A display name for an email: "ana.lopez@…" → "Ana Lopez". */
function displayName(email: string): string {
  const local = email.split("@")[0] ?? email;
  return local.split(/[._+-]+/).filter(Boolean).slice(0, 3)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ") || email;
}

function avatarColour(email: string): string {
  let hash = 0;
  for (const c of email) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return AVATAR_COLOURS[hash % AVATAR_COLOURS.length]!;
}

/** The app's name as a person would see it: the client id without Google's suffix. */
function appName(clientId: string): string {
  return clientId.replace(/\.apps\.googleusercontent\.com$/, "");
}

/**
 * Renders the account chooser plus granular consent: sign-in scopes are listed as always granted,
 * every other scope gets a ticked checkbox the person may untick.
 */
export function renderConsentPage(options: ConsentPageOptions): string {
  const hint = options.loginHint ?? "";
  const known = options.accounts.includes(hint);
  // With select_account the person must pick; login_hint then only fills the typed field.
  const preselect = options.selectAccount === true || options.error !== undefined
    ? undefined
    : known
    ? hint
    : hint
    ? OTHER_ACCOUNT
    : undefined;
  const typed = options.typedEmail ?? (known ? "" : hint);
  const otherPicked = preselect === OTHER_ACCOUNT || options.error !== undefined;
  const accounts = options.accounts.map((email) => {
    const e = escapeHtml(email);
    return `<li><label class="account">
  <input type="radio" name="account" value="${e}" aria-label="${e}"${
      email === preselect ? " checked" : ""
    }>
  <span class="avatar" style="background:${avatarColour(email)}" aria-hidden="true">${
      escapeHtml(email.charAt(0).toUpperCase())
    }</span>
  <span class="who"><span class="name">${
      escapeHtml(displayName(email))
    }</span><span class="mail">${e}</span></span>
</label></li>`;
  }).join("\n");
  const signIn = options.scopes.filter(isSignInScope);
  const granular = options.scopes.filter((scope) => !isSignInScope(scope));
  const describe = (scope: string) =>
    `<span class="desc"><span class="what">${escapeHtml(SCOPE_TEXT[scope] ?? scope)}</span><code>${
      escapeHtml(scope)
    }</code></span>`;
  const signInItems = signIn.map((scope) => `<li class="fixed">${describe(scope)}</li>`).join("\n");
  const checkboxes = granular.map((scope) => {
    const s = escapeHtml(scope);
    return `<li><label class="scope"><input type="checkbox" name="scope" value="${s}" aria-label="${s}" checked>
  ${describe(scope)}</label></li>`;
  }).join("\n");
  const app = escapeHtml(appName(options.clientId));
  const error = options.error === undefined ? "" : escapeHtml(options.error);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - Google Accounts (emulator)</title>
<style>${STYLE}</style>
</head>
<body>
<main class="card">
<header>
  <div class="logo" aria-hidden="true"><b style="color:#4285f4">G</b><b style="color:#ea4335">o</b><b style="color:#fbbc05">o</b><b style="color:#4285f4">g</b><b style="color:#34a853">l</b><b style="color:#ea4335">e</b></div>
  <span class="badge">local emulator</span>
</header>
<h1>Choose an account</h1>
<p class="sub">to continue to <strong>${app}</strong></p>
<form method="post" action="${escapeHtml(options.action)}" data-select-account="${
    options.selectAccount === true
  }" novalidate>
<input type="hidden" name="consent_id" value="${escapeHtml(options.consentId)}">
<fieldset class="accounts"><legend class="hidden">Account</legend>
<ul>
${accounts}
<li><label class="account other">
  <input type="radio" name="account" value="${OTHER_ACCOUNT}" aria-label="Use another account"${
    otherPicked ? " checked" : ""
  }>
  <span class="avatar plus" aria-hidden="true">+</span>
  <span class="who"><span class="name">Use another account</span><span class="mail">Any email: the emulator creates it</span></span>
</label></li>
</ul>
<div class="typed" id="typed"${otherPicked ? "" : " hidden"}>
  <label for="email">Email or phone</label>
  <input type="email" id="email" name="email" value="${escapeHtml(typed)}" autocomplete="email"
    placeholder="ana@gmail.com" aria-describedby="email-error"${
    error ? ' aria-invalid="true"' : ""
  }>
  <p class="error" id="email-error" role="alert"${error ? "" : " hidden"}>${error}</p>
</div>
</fieldset>
<section class="access">
<h2>${app} wants to access your Google Account</h2>
<ul class="scopes">
${signInItems}
${checkboxes}
</ul>
<p class="note">Untick what you do not want to share. You can remove access at any time in your Google Account.</p>
</section>
<div class="buttons">
<button type="submit" name="action" value="cancel" class="text">Cancel</button>
<button type="submit" name="action" value="allow" class="primary">Allow</button>
</div>
</form>
</main>
<footer>A stand-in for Google on this machine: nothing here reaches Google.</footer>
<script type="module">${SCRIPT}</script>
</body>
</html>
`;
}

/** Shows the typed field for "Use another account"; an empty or invalid email says so inline. */
const SCRIPT = `
(() => {
  const form = document.querySelector("form");
  const typed = document.getElementById("typed");
  const email = document.getElementById("email");
  const error = document.getElementById("email-error");
  const picked = () => form.querySelector('input[name="account"]:checked');
  const show = (message) => {
    error.textContent = message;
    error.hidden = !message;
    email.setAttribute("aria-invalid", message ? "true" : "false");
  };
  const sync = () => {
    const other = picked()?.value === "${OTHER_ACCOUNT}";
    typed.hidden = !other;
    email.disabled = !other;
    if (other) email.focus();
    show("");
  };
  form.addEventListener("change", (e) => { if (e.target.name === "account") sync(); });
  email.addEventListener("input", () => show(""));
  form.addEventListener("submit", (e) => {
    if (e.submitter?.value !== "allow") return;
    const choice = picked();
    if (!choice) {
      e.preventDefault();
      typed.hidden = false;
      show("Choose an account above, or pick Use another account and enter an email.");
      return;
    }
    if (choice.value !== "${OTHER_ACCOUNT}") return;
    const value = email.value.trim();
    if (!value) {
      e.preventDefault();
      show("Enter an email address to continue.");
      email.focus();
    } else if (!/^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$/.test(value)) {
      e.preventDefault();
      show("That doesn't look like an email address. Try ana@gmail.com.");
      email.focus();
    }
  });
  email.disabled = picked()?.value !== "${OTHER_ACCOUNT}";
})();
`;

const STYLE = `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
  color:#202124;background:linear-gradient(160deg,#e8f0fe 0%,#f8f9fa 55%,#fef7e0 100%);
  display:flex;flex-direction:column;align-items:center;padding:24px 12px}
.card{width:100%;max-width:450px;background:#fff;border:1px solid #dadce0;border-radius:16px;
  padding:28px 24px 20px;box-shadow:0 2px 6px rgba(60,64,67,.15),0 8px 24px rgba(60,64,67,.1)}
header{display:flex;align-items:center;justify-content:space-between}
.logo{font:600 24px/1 "Product Sans",system-ui,sans-serif;letter-spacing:-.5px}
.badge{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#5f6368;
  border:1px solid #dadce0;border-radius:999px;padding:3px 9px}
h1{font-size:24px;font-weight:400;margin:18px 0 4px;text-align:center}
.sub{margin:0 0 18px;text-align:center;color:#5f6368}
.sub strong{color:#1a73e8;font-weight:500}
fieldset{border:0;margin:0;padding:0;min-width:0}
.hidden{position:absolute;left:-9999px}
ul{list-style:none;margin:0;padding:0}
.accounts li{border-top:1px solid #e8eaed}
.accounts li:last-child{border-bottom:1px solid #e8eaed}
.account{display:flex;align-items:center;gap:12px;padding:11px 8px;cursor:pointer;border-radius:8px;
  min-width:0}
.account:hover{background:#f6f8fc}
.account input{accent-color:#1a73e8;width:18px;height:18px;margin:0}
.account:has(input:checked){background:#e8f0fe}
.avatar{flex:none;width:34px;height:34px;border-radius:50%;color:#fff;display:grid;place-items:center;
  font-weight:600}
.avatar.plus{background:#f1f3f4;color:#5f6368;font-size:22px;font-weight:400}
.who{display:flex;flex-direction:column;min-width:0;flex:1}
.name{font-weight:500}
.mail{color:#5f6368;font-size:13px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.typed{padding:12px 4px 4px}
.typed label{display:block;font-size:13px;color:#5f6368;margin-bottom:4px}
.typed input{width:100%;font:inherit;padding:12px 14px;border:1px solid #dadce0;border-radius:8px}
.typed input:focus{outline:2px solid #1a73e8;border-color:transparent}
.typed input[aria-invalid=true]{border-color:#d93025}
.error{color:#d93025;font-size:13px;margin:6px 0 0}
.error::before{content:"!";display:inline-grid;place-items:center;width:16px;height:16px;
  border-radius:50%;background:#d93025;color:#fff;font-size:11px;font-weight:700;margin-right:6px}
.access{margin-top:18px;padding-top:16px}
h2{font-size:16px;font-weight:500;margin:0 0 10px}
.scopes li{display:flex;gap:12px;align-items:flex-start;padding:8px 0;border-bottom:1px solid #f1f3f4}
.scopes .fixed::before{content:"\\2713";color:#188038;font-weight:700;width:18px;text-align:center;
  flex:none}
.scope{display:flex;gap:12px;align-items:flex-start;cursor:pointer;min-width:0}
.desc{display:block;min-width:0}
.scope input{accent-color:#1a73e8;width:18px;height:18px;margin:2px 0 0;flex:none}
.what{display:block}
code{display:block;font-size:11px;color:#80868b;word-break:break-all}
.note{color:#5f6368;font-size:13px;margin:12px 0 0}
.buttons{display:flex;justify-content:flex-end;gap:8px;margin-top:22px}
button{font:500 14px/1 inherit;font-family:inherit;border-radius:999px;padding:11px 22px;cursor:pointer;border:0}
button.text{background:none;color:#1a73e8}
button.text:hover{background:#f6f8fc}
button.primary{background:#1a73e8;color:#fff;box-shadow:0 1px 2px rgba(60,64,67,.3)}
button.primary:hover{background:#1765cc}
footer{color:#5f6368;font-size:12px;margin-top:14px;text-align:center}
`;

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
