import assert from "node:assert/strict";
import { printable, psqlSets, scheduleSteps } from "./sql.ts";

Deno.test("schedule sql: the job posts to google-maintenance with the key from Vault", () => {
  const steps = scheduleSteps("*/5 * * * *");
  const job = steps.find((s) => s.sql.includes("cron.schedule"))!;
  assert.ok(job.cronAndNet);
  assert.match(job.sql, /'google-maintenance',\n {2}'\*\/5 \* \* \* \*'/);
  assert.match(job.sql, /net\.http_post/);
  assert.match(job.sql, /'\/functions\/v1\/google-maintenance'/);
  assert.match(job.sql, /name = 'google_maintenance_key'/);
  // The steps the local stack runs come first; the pg_cron/pg_net ones after.
  const flags = steps.map((s) => s.cronAndNet);
  assert.deepEqual(flags, [...flags].sort((a, b) => Number(a) - Number(b)));
  assert.equal(flags.filter((f) => !f).length, 2);
});

Deno.test("schedule sql: only a cron expression (or N seconds) is accepted", () => {
  assert.doesNotThrow(() => scheduleSteps("30 seconds"));
  assert.doesNotThrow(() => scheduleSteps("0,30 * * * 1-5"));
  for (const bad of ["*/5 * * * *'; drop table x; --", "$$", "every day"]) {
    assert.throws(() => scheduleSteps(bad), /not a cron schedule/);
  }
});

Deno.test("schedule sql: values go in as psql variables, quoted; the printout names, not shows, the key", () => {
  assert.equal(psqlSets({ key: "a'b\\c" }), "\\set key 'a\\'b\\\\c'\n");
  const text = printable(scheduleSteps("*/5 * * * *"), "https://x.supabase.co", "$K");
  assert.match(text, /^-- psql variables: project_url = https:\/\/x\.supabase\.co, key = \$K/);
  assert.match(text, /:'key'/);
});
