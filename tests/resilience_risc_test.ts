/**
 * Forged Security Event Tokens (issue 24): each is POSTed to google-risc and must be refused
 * with its RFC 8935 error (or 413 / 405), and change nothing: the subject's grant, its outbox,
 * its revocation queue and the seen-jti table are compared before and after every case. The
 * SETs name a connected account and carry tokens-revoked, so one accepted by mistake would
 * delete a grant. The figures join the resilience summary as the `risc` section.
 */

import assert from "node:assert/strict";
import { base64url, exportJWK, generateKeyPair, SignJWT } from "jose";
import {
  RISC_EVENT_TYPES,
  RISC_ISSUER,
} from "../supabase/functions/_google_calendar/risc_facts.ts";
import { postSet, registerStream, signedSet } from "./support/risc.ts";
import { recordFigures } from "./support/resilience_report.ts";
import { connectedUser, functionLogs, sql, stack, tokenRow } from "./support/stack.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

interface Case {
  name: string;
  body: () => Promise<BodyInit>;
  status: number;
  /** RFC 8935 `err`, or null for answers without one (405). */
  err: string | null;
  method?: string;
}

const tally = { cases: 0, rejected: 0 };
const failures: string[] = [];
const sentTokens: string[] = [];

/** Everything a SET about `userId` could change. */
async function fingerprint(userId: string): Promise<string> {
  const [row] = await sql(
    `select md5(
       coalesce((select t::text from public.google_calendar_tokens t where t.user_id = :'id'), '-')
       || coalesce((select string_agg(e.id::text, ',' order by e.seq)
                      from public.google_calendar_webhook_events e where e.user_id = :'id'), '-')
       || coalesce((select string_agg(r.id::text, ',' order by r.id)
                      from public.google_calendar_revocations r where r.user_id = :'id'), '-')
       || coalesce((select string_agg(s.jti, ',' order by s.jti)
                      from public.google_risc_seen_events s), '-'))`,
    { id: userId },
  );
  return row!;
}

function compact(header: unknown, payload: unknown, signature = ""): string {
  const part = (v: unknown) => base64url.encode(JSON.stringify(v));
  return `${part(header)}.${part(payload)}.${signature}`;
}

Deno.test({
  name: "forged SETs: each refused with its error, and nothing changes",
  ...opts,
  async fn() {
    await registerStream();
    const { user, google } = await connectedUser("risc-hostile");
    const sub = (await tokenRow(user.id))!.google_sub as string;
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: RISC_ISSUER,
      aud: stack.google_client_id,
      iat: now,
      events: {
        [RISC_EVENT_TYPES.tokensRevoked]: {
          subject: { subject_type: "iss-sub", iss: RISC_ISSUER, sub },
        },
      },
    };
    const jwks = await (await fetch(
      `${stack.google_emulator_url}/risc/v1beta/jwks`,
    )).json() as { keys: { kid: string; n: string }[] };
    const realKid = jwks.keys[0]!.kid;
    const stranger = await generateKeyPair("RS256");
    const strangerKid = (await exportJWK(stranger.publicKey)).n!.slice(0, 16);
    const sign = (header: Record<string, unknown>, key: Parameters<SignJWT["sign"]>[0]) =>
      new SignJWT({ ...claims, jti: crypto.randomUUID() })
        .setProtectedHeader(header as { alg: string })
        .sign(key);
    const emulatorSigned = (extra: Record<string, unknown>) =>
      signedSet({ email: google, event_type: "tokens-revoked", ...extra });

    // The replay: the first delivery is accepted (and acts) before the table runs.
    const replayed = await emulatorSigned({ event_type: "sessions-revoked" });
    assert.equal((await postSet(replayed)).status, 202, "the original is accepted");

    const cases: Case[] = [
      {
        name: "alg none, no signature",
        body: () => Promise.resolve(compact({ alg: "none" }, { ...claims, jti: "n1" })),
        status: 400,
        err: "invalid_request",
      },
      {
        name: "alg none with a signature part",
        body: () => Promise.resolve(compact({ alg: "none", kid: realKid }, claims, "e30")),
        status: 400,
        err: "invalid_key",
      },
      {
        name: "HS256 keyed with the JWKS's public modulus",
        body: () => sign({ alg: "HS256", kid: realKid }, base64url.decode(jwks.keys[0]!.n)),
        status: 400,
        err: "invalid_key",
      },
      {
        name: "HS256 under a random key",
        body: () =>
          sign({ alg: "HS256", kid: realKid }, crypto.getRandomValues(new Uint8Array(32))),
        status: 400,
        err: "invalid_key",
      },
      {
        name: "RS256 by a key not in the JWKS",
        body: () => sign({ alg: "RS256", kid: strangerKid }, stranger.privateKey),
        status: 400,
        err: "invalid_key",
      },
      {
        name: "RS256 by another key under the JWKS's kid",
        body: () => sign({ alg: "RS256", kid: realKid }, stranger.privateKey),
        status: 400,
        err: "invalid_key",
      },
      {
        name: "a real SET with its payload swapped",
        body: async () => {
          const [header, , signature] = (await emulatorSigned({})).split(".");
          const other = compact({}, { ...claims, jti: "swapped" }).split(".")[1];
          return `${header}.${other}.${signature}`;
        },
        status: 400,
        err: "invalid_key",
      },
      {
        name: "aud of another client",
        body: () => emulatorSigned({ aud: "someone-else.apps.googleusercontent.com" }),
        status: 400,
        err: "invalid_audience",
      },
      {
        name: "iss without Google's trailing slash",
        body: () => emulatorSigned({ iss: "https://accounts.google.com" }),
        status: 400,
        err: "invalid_issuer",
      },
      {
        name: "iss of another issuer",
        body: () => emulatorSigned({ iss: "https://evil.example/" }),
        status: 400,
        err: "invalid_issuer",
      },
      {
        name: "replayed jti",
        body: () => Promise.resolve(replayed),
        status: 400,
        err: "invalid_request",
      },
      {
        name: "iat four days old",
        body: () => emulatorSigned({ iat: now - 4 * 86_400 }),
        status: 400,
        err: "invalid_request",
      },
      {
        name: "iat an hour ahead",
        body: () => emulatorSigned({ iat: now + 3600 }),
        status: 400,
        err: "invalid_request",
      },
      {
        name: "a 1 MB body",
        body: () => Promise.resolve("a".repeat(1024 * 1024)),
        status: 413,
        err: "invalid_request",
      },
      {
        name: "a 1 MB body behind a real SET",
        body: async () => (await emulatorSigned({})) + " ".repeat(1024 * 1024),
        status: 413,
        err: "invalid_request",
      },
      {
        name: "not a JWT",
        body: () => Promise.resolve("hello"),
        status: 400,
        err: "invalid_request",
      },
      {
        name: "a JSON body",
        body: () => Promise.resolve(JSON.stringify(claims)),
        status: 400,
        err: "invalid_request",
      },
      {
        name: "an empty body",
        body: () => Promise.resolve(""),
        status: 400,
        err: "invalid_request",
      },
      {
        name: "a GET",
        body: () => Promise.resolve(""),
        status: 405,
        err: null,
        method: "GET",
      },
    ];

    for (const c of cases) {
      tally.cases += 1;
      const before = await fingerprint(user.id);
      const body = await c.body();
      if (typeof body === "string") sentTokens.push(body);
      let status: number;
      let err: unknown = null;
      if (c.method === "GET") {
        const res = await fetch(`${stack.functions_url}/google-risc`);
        await res.body?.cancel();
        status = res.status;
      } else {
        const answer = await postSet(body);
        status = answer.status;
        err = answer.body?.err ?? null;
      }
      const after = await fingerprint(user.id);
      const problems: string[] = [];
      if (status !== c.status || err !== c.err) {
        problems.push(`got ${status} ${err}, expected ${c.status} ${c.err}`);
      }
      if (after !== before) problems.push("the database changed");
      if (problems.length === 0) tally.rejected += 1;
      else failures.push(`${c.name}: ${problems.join("; ")}`);
    }
    assert.deepEqual(failures, []);
    assert.notEqual(await tokenRow(user.id), null, "the grant survived every forgery");
  },
});

Deno.test({
  name: "forged SETs: figures recorded; no SET in any function's output",
  ...opts,
  async fn() {
    const logs = await functionLogs();
    const leaked = sentTokens.filter((t) => t.length > 40 && logs.includes(t.slice(0, 200)));
    await recordFigures("risc", {
      risc_forged_cases: tally.cases,
      risc_forged_rejected: tally.rejected,
      log_leaks: leaked.length,
    });
    assert.equal(leaked.length, 0, "a SET was logged");
    assert.ok(tally.cases >= 18, `at least 18 forged SETs (${tally.cases})`);
    assert.equal(tally.rejected, tally.cases, "every forged SET refused with nothing changed");
  },
});
