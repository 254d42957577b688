/**
 * Google's Cross-Account Protection (RISC) facts, defined once: the issuer of its Security Event
 * Tokens, where its configuration document lives, the RISC API, and the event types with what
 * the kit does for each. No I/O.
 * https://developers.google.com/identity/protocols/risc
 */

/** The `iss` of every SET Google sends (with its trailing slash, as Google writes it). */
export const RISC_ISSUER = "https://accounts.google.com/";

/** The path of the RISC configuration document under Google's accounts host (or an emulator). */
export const RISC_CONFIGURATION_PATH = "/.well-known/risc-configuration";

/** The RISC management API's base, and the `aud` of the service-account JWT it takes. */
export const RISC_API_BASE_URL = "https://risc.googleapis.com";
export const RISC_API_AUDIENCE =
  "https://risc.googleapis.com/google.identity.risc.v1beta.RiscManagementService";

/** The one delivery method Google offers: it POSTs each SET to the receiver's URL. */
export const RISC_PUSH_DELIVERY = "https://schemas.openid.net/secevent/risc/delivery-method/push";

const RISC = "https://schemas.openid.net/secevent/risc/event-type/";
const OAUTH = "https://schemas.openid.net/secevent/oauth/event-type/";

/** The event type URIs Google sends, by short name. */
export const RISC_EVENT_TYPES = Object.freeze({
  sessionsRevoked: `${RISC}sessions-revoked`,
  tokensRevoked: `${OAUTH}tokens-revoked`,
  tokenRevoked: `${OAUTH}token-revoked`,
  accountDisabled: `${RISC}account-disabled`,
  accountEnabled: `${RISC}account-enabled`,
  credentialChangeRequired: `${RISC}account-credential-change-required`,
  verification: `${RISC}verification`,
});

/** What the kit does with a grant for an event: see docs/risc.md. */
export type RiscAction = "revoke" | "disable" | "notice" | "none";

/**
 * Each event type the kit acts on: its action and the webhook `reason`. Anything else is
 * accepted and ignored (action none), as the RISC profile asks of receivers.
 */
export const RISC_EVENT_ACTIONS: Readonly<Record<string, { action: RiscAction; reason: string }>> =
  Object.freeze({
    [RISC_EVENT_TYPES.tokensRevoked]: { action: "revoke", reason: "google_tokens_revoked" },
    [RISC_EVENT_TYPES.tokenRevoked]: { action: "revoke", reason: "google_tokens_revoked" },
    [RISC_EVENT_TYPES.accountDisabled]: { action: "disable", reason: "google_account_disabled" },
    [RISC_EVENT_TYPES.accountEnabled]: { action: "notice", reason: "google_account_enabled" },
    [RISC_EVENT_TYPES.sessionsRevoked]: { action: "notice", reason: "google_sessions_revoked" },
    [RISC_EVENT_TYPES.credentialChangeRequired]: {
      action: "notice",
      reason: "google_credential_change_required",
    },
    [RISC_EVENT_TYPES.verification]: { action: "none", reason: "verification" },
  });

/** The event types `npm run risc:register` asks Google for: every one the kit acts on. */
export const RISC_REQUESTED_EVENTS: readonly string[] = Object.freeze(
  Object.values(RISC_EVENT_TYPES),
);
