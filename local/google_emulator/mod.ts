/**
 * Local Google OAuth 2.0 / OpenID Connect emulator: see README.md.
 *
 * @module
 */

export * from "./emulator.ts";
export * from "./server.ts";
export * from "./consent_client.ts";
export { parseCliArgs } from "./main.ts";
