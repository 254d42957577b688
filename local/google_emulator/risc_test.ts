import assert from "node:assert/strict";
import * as jose from "jose";
import { registerRiscStream, riscApiToken, type ServiceAccountKey } from "../bin/risc_register.ts";
import { RISC_API_AUDIENCE, RISC_EVENT_URIS, RISC_SET_ISSUER } from "./risc.ts";
import { TEST_CLIENT, TEST_EMAIL, testEmulator } from "./testing.ts";
import type { GoogleEmulator } from "./types.ts";

/** A receiver on a real socket: what google-risc would get. */
function receiver(status = 202) {
  const got: { contentType: string | null; body: string }[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    got.push({ contentType: req.headers.get("content-type"), body: await req.text() });
    return new Response(null, { status });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/google-risc`, got, server };
}

/** A RISC control, over the emulator's HTTP handler. */
async function control(emulator: GoogleEmulator, name: string, body: unknown): Promise<unknown> {
  const res = await emulator.fetch(`/__emulator/risc/${name}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, `risc/${name}`);
  return await res.json();
}

async function serviceAccount(emulator: GoogleEmulator): Promise<ServiceAccountKey> {
  return await control(emulator, "service-account", {}) as ServiceAccountKey;
}

async function streamCall(emulator: GoogleEmulator, method: string, token: string, body: unknown) {
  const res = await emulator.fetch(`/v1beta/${method}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** The events claim of a SET, verified against the JWKS the configuration document names. */
async function verified(emulator: GoogleEmulator, set: string) {
  const config = await (await emulator.fetch("/.well-known/risc-configuration")).json();
  const jwks = await (await emulator.fetch(new URL(config.jwks_uri).pathname)).json();
  const { payload } = await jose.jwtVerify(set, jose.createLocalJWKSet(jwks), {
    algorithms: ["RS256"],
    issuer: RISC_SET_ISSUER,
    audience: TEST_CLIENT.clientId,
  });
  return payload;
}

Deno.test("emulator RISC: the configuration document names Google's issuer and a cacheable JWKS", async () => {
  const { emulator } = await testEmulator();
  const res = await emulator.fetch("/.well-known/risc-configuration");
  assert.equal(res.headers.get("cache-control"), "public, max-age=3600");
  const config = await res.json();
  assert.equal(config.issuer, "https://accounts.google.com/");
  const jwks = await emulator.fetch(new URL(config.jwks_uri).pathname);
  assert.equal((await jwks.json()).keys.length, 1);
});

Deno.test("emulator RISC: the stream methods take only the service account's JWT", async () => {
  const { emulator } = await testEmulator();
  const key = await serviceAccount(emulator);
  const body = { delivery: { delivery_method: "x", url: "https://a.example/" } };
  const signed = async (claims: { aud?: string; ttl?: number; kid?: string }) => {
    const iat = Math.floor(Date.now() / 1000);
    return await new jose.SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: claims.kid ?? key.private_key_id })
      .setIssuer(key.client_email).setSubject(key.client_email)
      .setAudience(claims.aud ?? RISC_API_AUDIENCE)
      .setIssuedAt(iat).setExpirationTime(iat + (claims.ttl ?? 3600))
      .sign(await jose.importPKCS8(key.private_key, "RS256"));
  };
  for (
    const token of [
      "",
      "not-a-jwt",
      await signed({ aud: "https://risc.googleapis.com" }),
      await signed({ ttl: 7200 }),
      await signed({ kid: "unknown" }),
    ]
  ) {
    const answer = await streamCall(emulator, "stream:update", token, body);
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error.status, "UNAUTHENTICATED");
  }
  const ok = await streamCall(emulator, "stream:update", await riscApiToken(key), body);
  assert.equal(ok.status, 400, "authenticated; then the body is checked");
});

Deno.test("emulator RISC: stream:update wants push delivery to https and RISC event types", async () => {
  const { emulator } = await testEmulator();
  const token = await riscApiToken(await serviceAccount(emulator));
  const push = "https://schemas.openid.net/secevent/risc/delivery-method/push";
  const events = [RISC_EVENT_URIS["sessions-revoked"]];
  for (
    const body of [
      {
        delivery: { delivery_method: "poll", url: "https://a.example/" },
        events_requested: events,
      },
      { delivery: { delivery_method: push, url: "https://a.example/" }, events_requested: [] },
      { delivery: { delivery_method: push, url: "https://a.example/" }, events_requested: ["x"] },
    ]
  ) {
    assert.equal((await streamCall(emulator, "stream:update", token, body)).status, 400);
  }
  // The guide's error reference (https://developers.google.com/identity/protocols/risc):
  // a missing field is 400 naming it, an http receiver is 403.
  for (
    const [body, field] of [
      [{ events_requested: events }, "delivery"],
      [{ delivery: { url: "https://a.example/" }, events_requested: events }, "delivery_method"],
      [{ delivery: { delivery_method: push } }, "url"],
      [{ delivery: { delivery_method: push, url: "https://a.example/" } }, "events_requested"],
    ] as const
  ) {
    const answer = await streamCall(emulator, "stream:update", token, body);
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error.message, `Stream configuration must contain ${field} field.`);
  }
  const http = await streamCall(emulator, "stream:update", token, {
    delivery: { delivery_method: push, url: "http://a.example/" },
    events_requested: events,
  });
  assert.equal(http.status, 403);
  assert.equal(http.body.error.message, "The delivery endpoint must be an HTTPS URL.");
  const early = await streamCall(emulator, "stream:verify", token, { state: "s" });
  assert.deepEqual([early.status, early.body.error.message], [
    404,
    "Project has no RISC configuration.",
  ]);
  const ok = {
    delivery: { delivery_method: push, url: "https://a.example/" },
    events_requested: events,
  };
  assert.equal((await streamCall(emulator, "stream:update", token, ok)).status, 200);
});

Deno.test("emulator RISC: risc:register configures the stream and the verification event arrives", async () => {
  const { emulator } = await testEmulator();
  const bot = receiver();
  try {
    const { state } = await registerRiscStream({
      key: await serviceAccount(emulator),
      receiverUrl: bot.url,
      apiBaseUrl: emulator.issuer,
      state: "state-42",
      fetch: emulator.fetch as typeof fetch,
    });
    assert.equal(state, "state-42");
    assert.equal(bot.got.length, 1);
    assert.equal(bot.got[0]!.contentType, "application/secevent+jwt");
    const payload = await verified(emulator, bot.got[0]!.body);
    assert.deepEqual(payload.events, { [RISC_EVENT_URIS.verification!]: { state: "state-42" } });
  } finally {
    await bot.server.shutdown();
  }
});

Deno.test("emulator RISC: stream:verify sends nothing to a stream that did not request verification", async () => {
  const { emulator } = await testEmulator();
  const bot = receiver();
  try {
    const token = await riscApiToken(await serviceAccount(emulator));
    const push = "https://schemas.openid.net/secevent/risc/delivery-method/push";
    const update = await streamCall(emulator, "stream:update", token, {
      delivery: { delivery_method: push, url: bot.url },
      events_requested: [RISC_EVENT_URIS["account-disabled"]],
    });
    assert.equal(update.status, 200);
    assert.equal((await streamCall(emulator, "stream:verify", token, { state: "s" })).status, 200);
    assert.equal(bot.got.length, 0);
  } finally {
    await bot.server.shutdown();
  }
});

Deno.test("emulator RISC: emit signs an iss-sub event; a rotated key signs the next one", async () => {
  const { emulator } = await testEmulator({ accounts: [TEST_EMAIL] });
  const bot = receiver();
  try {
    await registerRiscStream({
      key: await serviceAccount(emulator),
      receiverUrl: bot.url,
      apiBaseUrl: emulator.issuer,
      fetch: emulator.fetch as typeof fetch,
    });
    const sent = await control(emulator, "emit", {
      email: TEST_EMAIL,
      event_type: "account-disabled",
      reason: "hijacking",
    }) as { jti: string; status: number };
    assert.equal(sent.status, 202);
    const first = await verified(emulator, bot.got.at(-1)!.body);
    const tokens = emulator.accountTokens(TEST_EMAIL)!;
    assert.equal(first.jti, sent.jti);
    assert.deepEqual(first.events, {
      [RISC_EVENT_URIS["account-disabled"]!]: {
        subject: { subject_type: "iss-sub", iss: RISC_SET_ISSUER, sub: tokens.sub },
        reason: "hijacking",
      },
    });

    const { kid } = await control(emulator, "rotate", {}) as { kid: string };
    await control(emulator, "emit", { email: TEST_EMAIL, event_type: "sessions-revoked" });
    assert.equal(jose.decodeProtectedHeader(bot.got.at(-1)!.body).kid, kid);
    await verified(emulator, bot.got.at(-1)!.body);
  } finally {
    await bot.server.shutdown();
  }
});

Deno.test("emulator RISC: risc:register names the step and Google's answer when refused", async () => {
  const { emulator } = await testEmulator();
  const stranger = await testEmulator();
  await assert.rejects(
    registerRiscStream({
      key: await serviceAccount(stranger.emulator),
      receiverUrl: "https://a.example/google-risc",
      apiBaseUrl: emulator.issuer,
      fetch: emulator.fetch as typeof fetch,
    }),
    /^Error: stream:update answered 401: Unknown service-account key\.$/,
  );
});
