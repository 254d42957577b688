/**
 * The emulator's Calendar slice checked with Google's own client, `@googleapis/calendar`: if the
 * official client reads our answers (status, bodies, errors, paging, sync tokens, conference
 * data, freebusy) the way it reads Google's, code written against it works on both.
 * https://developers.google.com/calendar/api/v3/reference
 */

import assert from "node:assert/strict";
import { auth, calendar, type calendar_v3 } from "@googleapis/calendar";
import { serveGoogleEmulator } from "../local/google_emulator/mod.ts";
import {
  CALENDAR_EVENTS,
  controlCall,
  signIn,
  TEST_CLIENT,
  TEST_EMAIL,
} from "../local/google_emulator/testing.ts";

interface Client {
  api: calendar_v3.Calendar;
  url: string;
  emulator: Awaited<ReturnType<typeof serveGoogleEmulator>>["emulator"];
  shutdown(): Promise<void>;
}

async function client(scope = CALENDAR_EVENTS): Promise<Client> {
  const served = await serveGoogleEmulator({ clients: [TEST_CLIENT] });
  const token = await signIn(served.emulator, { params: { scope } });
  const credentials = new auth.OAuth2();
  credentials.setCredentials({ access_token: token.access_token ?? null });
  return {
    api: calendar({ version: "v3", auth: credentials, rootUrl: `${served.url}/` }),
    url: served.url,
    emulator: served.emulator,
    shutdown: () => served.shutdown(),
  };
}

/** The status and legacy reason of an error the client threw. */
async function refusal(call: Promise<unknown>): Promise<{ status: number; reason: string }> {
  try {
    await call;
  } catch (error) {
    const response = (error as {
      response?: { status: number; data?: { error?: { errors?: { reason: string }[] } } };
    }).response;
    assert.ok(response, `not an HTTP error: ${error}`);
    return { status: response.status, reason: response.data?.error?.errors?.[0]?.reason ?? "" };
  }
  throw new Error("the call succeeded");
}

const paris = (time: string) => ({ dateTime: `2026-03-30T${time}:00`, timeZone: "Europe/Paris" });

Deno.test("fidelity: the official client inserts with a client id, gets 409 on a retry, patches with If-Match", async () => {
  const { api, shutdown } = await client();
  try {
    const body = {
      id: "again00001",
      summary: "Dentist",
      start: paris("09:00"),
      end: paris("10:00"),
    };
    const created = await api.events.insert({ calendarId: "primary", requestBody: body });
    assert.equal(created.status, 200);
    assert.equal(created.data.id, "again00001");
    assert.equal(
      Date.parse(created.data.start?.dateTime ?? ""),
      Date.parse("2026-03-30T07:00:00Z"),
    );
    assert.deepEqual(
      await refusal(api.events.insert({ calendarId: "primary", requestBody: body })),
      { status: 409, reason: "duplicate" },
    );
    const patched = await api.events.patch(
      {
        calendarId: "primary",
        eventId: "again00001",
        requestBody: { summary: "Dentist (moved)" },
      },
      { headers: { "If-Match": created.data.etag ?? "" } },
    );
    assert.equal(patched.data.summary, "Dentist (moved)");
    assert.deepEqual(
      await refusal(api.events.patch(
        { calendarId: "primary", eventId: "again00001", requestBody: { summary: "stale" } },
        { headers: { "If-Match": created.data.etag ?? "" } },
      )),
      { status: 412, reason: "conditionNotMet" },
    );
    const got = await api.events.get({ calendarId: "primary", eventId: "again00001" });
    assert.equal(got.data.summary, "Dentist (moved)");
  } finally {
    await shutdown();
  }
});

Deno.test("fidelity: the official client deletes (204), then reads 410 and 404 as Google's errors", async () => {
  const { api, shutdown } = await client();
  try {
    await api.events.insert({
      calendarId: "primary",
      requestBody: { id: "delete00001", start: paris("09:00"), end: paris("10:00") },
    });
    const deleted = await api.events.delete({ calendarId: "primary", eventId: "delete00001" });
    assert.equal(deleted.status, 204);
    assert.deepEqual(
      await refusal(api.events.delete({ calendarId: "primary", eventId: "delete00001" })),
      { status: 410, reason: "deleted" },
    );
    assert.deepEqual(
      await refusal(api.events.get({ calendarId: "primary", eventId: "nothere0001" })),
      { status: 404, reason: "notFound" },
    );
    const cancelled = await api.events.get({ calendarId: "primary", eventId: "delete00001" });
    assert.equal(cancelled.data.status, "cancelled");
  } finally {
    await shutdown();
  }
});

Deno.test("fidelity: the official client pages a list, then syncs incrementally with nextSyncToken", async () => {
  const { api, emulator, shutdown } = await client();
  try {
    for (let i = 0; i < 5; i++) {
      await api.events.insert({
        calendarId: "primary",
        requestBody: { summary: `e${i}`, start: paris(`0${i + 1}:00`), end: paris(`0${i + 1}:30`) },
      });
    }
    const seen: string[] = [];
    let pageToken: string | undefined;
    let syncToken: string | undefined;
    do {
      const page = await api.events.list({
        calendarId: "primary",
        maxResults: 2,
        singleEvents: true,
        orderBy: "startTime",
        ...(pageToken === undefined ? {} : { pageToken }),
      });
      seen.push(...(page.data.items ?? []).map((e) => e.summary ?? ""));
      pageToken = page.data.nextPageToken ?? undefined;
      syncToken = page.data.nextSyncToken ?? undefined;
    } while (pageToken !== undefined);
    assert.deepEqual(seen, ["e0", "e1", "e2", "e3", "e4"]);
    assert.ok(syncToken);
    const made = await emulator.control("calendar/events", {
      email: TEST_EMAIL,
      event: { summary: "from the UI", start: paris("18:00"), end: paris("19:00") },
    }) as { id: string };
    const changes = await api.events.list({ calendarId: "primary", syncToken });
    assert.deepEqual(changes.data.items?.map((e) => e.id), [made.id]);
    await emulator.control("calendar/sync-tokens/invalidate", { email: TEST_EMAIL });
    assert.deepEqual(
      await refusal(api.events.list({ calendarId: "primary", syncToken })),
      { status: 410, reason: "fullSyncRequired" },
    );
  } finally {
    await shutdown();
  }
});

Deno.test("fidelity: the official client expands a series, moves one instance, and lists the rest unchanged", async () => {
  const { api, shutdown } = await client();
  try {
    await api.events.insert({
      calendarId: "primary",
      requestBody: {
        id: "standup0001",
        summary: "Standup",
        start: { dateTime: "2026-03-23T09:00:00", timeZone: "Europe/Paris" },
        end: { dateTime: "2026-03-23T09:15:00", timeZone: "Europe/Paris" },
        recurrence: ["RRULE:FREQ=WEEKLY;COUNT=3"],
      },
    });
    const instances = await api.events.instances({ calendarId: "primary", eventId: "standup0001" });
    const second = instances.data.items?.[1];
    assert.equal(second?.id, "standup0001_20260330T070000Z");
    await api.events.patch({
      calendarId: "primary",
      eventId: second?.id ?? "",
      requestBody: { summary: "Standup (long)", end: { dateTime: "2026-03-30T10:00:00+02:00" } },
    });
    const list = await api.events.list({
      calendarId: "primary",
      singleEvents: true,
      orderBy: "startTime",
      timeZone: "Europe/Paris",
    });
    assert.deepEqual(list.data.items?.map((e) => [e.summary, e.start?.dateTime, e.end?.dateTime]), [
      ["Standup", "2026-03-23T09:00:00+01:00", "2026-03-23T09:15:00+01:00"],
      ["Standup (long)", "2026-03-30T09:00:00+02:00", "2026-03-30T10:00:00+02:00"],
      ["Standup", "2026-04-06T09:00:00+02:00", "2026-04-06T09:15:00+02:00"],
    ]);
  } finally {
    await shutdown();
  }
});

Deno.test("fidelity: conferenceDataVersion=1 makes a Meet link; sendUpdates=all notes the guests", async () => {
  const { api, url, shutdown } = await client();
  try {
    const created = await api.events.insert({
      calendarId: "primary",
      conferenceDataVersion: 1,
      sendUpdates: "all",
      requestBody: {
        summary: "Call",
        start: paris("15:00"),
        end: paris("15:30"),
        attendees: [{ email: "bob@example.org" }, { email: TEST_EMAIL }],
        conferenceData: {
          createRequest: { requestId: "call-1", conferenceSolutionKey: { type: "hangoutsMeet" } },
        },
      },
    });
    assert.match(created.data.hangoutLink ?? "", /^https:\/\/meet\.google\.com\//);
    assert.equal(created.data.conferenceData?.createRequest?.status?.statusCode, "success");
    assert.equal(created.data.conferenceData?.entryPoints?.[0]?.uri, created.data.hangoutLink);
    assert.deepEqual(
      created.data.attendees?.map((a) => [a.email, a.responseStatus, a.self ?? false]),
      [["bob@example.org", "needsAction", false], [TEST_EMAIL, "accepted", true]],
    );
    const notices = await (await fetch(`${url}/__emulator/calendar/notices?email=${TEST_EMAIL}`))
      .json();
    assert.deepEqual(notices.notices.map((n: { recipients: string[] }) => n.recipients), [[
      "bob@example.org",
    ]]);
    const ignored = await api.events.insert({
      calendarId: "primary",
      requestBody: {
        summary: "No version",
        start: paris("16:00"),
        end: paris("16:30"),
        conferenceData: {
          createRequest: { requestId: "call-2", conferenceSolutionKey: { type: "hangoutsMeet" } },
        },
      },
    });
    assert.equal(ignored.data.hangoutLink, undefined, "version 0 ignores conferenceData");
    assert.deepEqual(
      await refusal(api.events.insert({
        calendarId: "primary",
        sendUpdates: "everyone" as "all",
        requestBody: { start: paris("16:00"), end: paris("16:30") },
      })),
      { status: 400, reason: "invalid" },
    );
  } finally {
    await shutdown();
  }
});

Deno.test("fidelity: the official client's freebusy.query is refused with calendar.events, answered with calendar.readonly", async () => {
  const eventsOnly = await client();
  try {
    const request = {
      requestBody: {
        timeMin: "2026-03-30T00:00:00Z",
        timeMax: "2026-03-31T00:00:00Z",
        items: [{ id: "primary" }],
      },
    };
    assert.deepEqual(await refusal(eventsOnly.api.freebusy.query(request)), {
      status: 403,
      reason: "insufficientPermissions",
    });
  } finally {
    await eventsOnly.shutdown();
  }
  const reader = await client("https://www.googleapis.com/auth/calendar.readonly");
  try {
    await controlCall(reader.emulator, "calendar/events", {
      email: TEST_EMAIL,
      event: { summary: "busy", start: paris("09:00"), end: paris("12:00") },
    });
    const res = await reader.api.freebusy.query({
      requestBody: {
        timeMin: "2026-03-30T00:00:00Z",
        timeMax: "2026-03-31T00:00:00Z",
        timeZone: "Europe/Paris",
        items: [{ id: "primary" }],
      },
    });
    assert.deepEqual(res.data.calendars?.primary?.busy, [
      { start: "2026-03-30T09:00:00+02:00", end: "2026-03-30T12:00:00+02:00" },
    ]);
  } finally {
    await reader.shutdown();
  }
});

Deno.test("fidelity: an empty range is Google's timeRangeEmpty (domain calendar, timeMax) for list, freebusy and insert", async () => {
  const { api, shutdown } = await client("https://www.googleapis.com/auth/calendar");
  try {
    /** The legacy error item the official client surfaces. */
    const item = async (call: Promise<unknown>) => {
      try {
        await call;
      } catch (error) {
        const response = (error as {
          response?: { status: number; data?: { error?: { errors?: unknown[] } } };
        }).response;
        assert.ok(response, `not an HTTP error: ${error}`);
        return { status: response.status, item: response.data?.error?.errors?.[0] };
      }
      throw new Error("the call succeeded");
    };
    const expected = {
      status: 400,
      item: {
        domain: "calendar",
        reason: "timeRangeEmpty",
        message: "The specified time range is empty.",
        locationType: "parameter",
        location: "timeMax",
      },
    };
    const inverted = { timeMin: "2026-03-31T00:00:00Z", timeMax: "2026-03-30T00:00:00Z" };
    assert.deepEqual(await item(api.events.list({ calendarId: "primary", ...inverted })), expected);
    // Equal bounds are an empty range too.
    const same = { timeMin: "2026-03-30T00:00:00Z", timeMax: "2026-03-30T00:00:00Z" };
    assert.deepEqual(await item(api.events.list({ calendarId: "primary", ...same })), expected);
    for (const range of [inverted, same]) {
      const query = api.freebusy.query({ requestBody: { ...range, items: [{ id: "primary" }] } });
      assert.deepEqual(await item(query), expected);
    }
    const backwards = api.events.insert({
      calendarId: "primary",
      requestBody: { start: paris("10:00"), end: paris("09:00") },
    });
    assert.deepEqual(await item(backwards), expected);
  } finally {
    await shutdown();
  }
});

Deno.test("fidelity: patching timed to all-day needs dateTime: null, as Google's patch merges start", async () => {
  const { api, shutdown } = await client();
  try {
    await api.events.insert({
      calendarId: "primary",
      requestBody: { id: "move0000001", start: paris("09:00"), end: paris("10:00") },
    });
    const allDay = { start: { date: "2026-03-31" }, end: { date: "2026-04-01" } };
    // Without the null the merged start holds date and dateTime: refused, nothing changes.
    const refused = await refusal(
      api.events.patch({ calendarId: "primary", eventId: "move0000001", requestBody: allDay }),
    );
    assert.equal(refused.status, 400);
    const kept = await api.events.get({ calendarId: "primary", eventId: "move0000001" });
    assert.equal(kept.data.start?.date, undefined);
    const cleared = {
      start: { date: "2026-03-31", dateTime: null },
      end: { date: "2026-04-01", dateTime: null },
    };
    const moved = await api.events.patch({
      calendarId: "primary",
      eventId: "move0000001",
      requestBody: cleared,
    });
    assert.equal(moved.data.start?.date, "2026-03-31");
    assert.equal(moved.data.start?.dateTime, undefined);
  } finally {
    await shutdown();
  }
});

Deno.test("fidelity: timeMin/timeMax need an RFC 3339 offset (events.list, freebusy.query)", async () => {
  const { api, shutdown } = await client("https://www.googleapis.com/auth/calendar");
  try {
    for (const timeMin of ["2026-03-30", "2026-03-30T09:00:00"]) {
      const list = api.events.list({ calendarId: "primary", timeMin });
      assert.equal((await refusal(list)).status, 400, timeMin);
      const query = api.freebusy.query({
        requestBody: { timeMin, timeMax: "2026-03-31T00:00:00Z", items: [{ id: "primary" }] },
      });
      assert.equal((await refusal(query)).status, 400, timeMin);
    }
    for (const timeMin of ["2026-03-30T09:00:00+02:00", "2026-03-30T07:00:00.250Z"]) {
      assert.equal((await api.events.list({ calendarId: "primary", timeMin })).status, 200);
    }
  } finally {
    await shutdown();
  }
});
