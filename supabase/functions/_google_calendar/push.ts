/**
 * Push notifications wired from the core (issue 23): the dependencies of channels and syncs, and
 * the work that follows a connect. See docs/push.md.
 */

import { runInBackground } from "./background.ts";
import { type SyncDeps, syncDue } from "./calendar_sync.ts";
import type { Core } from "./core.ts";
import { describeForLog } from "./errors.ts";
import { type ChannelDeps, openChannel } from "./push_channels.ts";
import { deliverSoon } from "./webhook_delivery.ts";

/** What openChannel and stopChannel need, from the core. */
export function channelDepsFor(core: Core): ChannelDeps {
  return {
    db: core.db,
    accessToken: async (userId) =>
      (await core.accessTokens.getGoogleAccessToken(userId)).accessToken,
    apiBaseUrl: core.config.google.apiBaseUrl,
    pushAddress: core.config.push?.address ?? null,
    timeoutMs: core.config.httpTimeoutMs,
  };
}

/** What a sync needs, from the core; queued events get their first attempt at once. */
export function syncDepsFor(core: Core): SyncDeps {
  const { db, config } = core;
  return {
    db,
    googleFetch: core.googleFetch,
    webhooks: config.webhooks !== null,
    timeoutMs: config.httpTimeoutMs,
    onEventsQueued: (userId) =>
      deliverSoon({ db, webhooks: config.webhooks, timeoutMs: config.httpTimeoutMs }, userId),
  };
}

/**
 * After a connect committed, off the person's path: opens the user's channel, then takes the
 * first sync token (a full listing that keeps only the token). A failure is logged; the person's
 * connection stands, and the next connect (or an operator) opens the channel.
 */
export function watchAfterConnect(core: Core, userId: string): void {
  if (!core.config.push) return;
  runInBackground(
    (async () => {
      const opened = await openChannel(channelDepsFor(core), userId);
      if (opened.result !== "active") return;
      await syncDue(syncDepsFor(core), { userIds: [userId], limit: 1 });
    })().catch((error) => {
      console.warn(`push: channel for user=${userId} not opened: ${describeForLog(error)}`);
    }),
  );
}
