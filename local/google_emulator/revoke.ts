/**
 * The revocation endpoint (`POST /revoke`). Revoking any token of a grant ends the grant:
 * every token of that account and client, and the scopes remembered for include_granted_scopes.
 *
 * @module
 */

import { oauthError, readForm } from "./http.ts";
import type { EmulatorState } from "./state.ts";

/** Path of the revocation endpoint. */
export const REVOKE_PATH = "/revoke";

/** `POST /revoke` with `token` in the form body or the query. */
export async function revokeEndpoint(
  state: EmulatorState,
  req: Request,
  query: URLSearchParams,
): Promise<Response> {
  const form = await readForm(req);
  const token = form?.get("token") ?? query.get("token");
  const response = await (async () => {
    if (token === null || token === "") {
      return oauthError(400, "invalid_request", "Missing required parameter: token");
    }
    const refresh = await state.findRefresh(token);
    if (refresh !== undefined && !refresh.revoked) {
      state.endGrant(refresh.email, refresh.clientId);
      return Response.json({});
    }
    const access = state.accessTokens.get(token);
    if (state.accessTokenWorks(access)) {
      state.endGrant(access.email, access.clientId);
      return Response.json({});
    }
    return oauthError(400, "invalid_token", "Token expired or revoked");
  })();
  state.stats.revocations[response.ok ? "ok" : "error"] += 1;
  return response;
}
