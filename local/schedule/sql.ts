/**
 * The SQL that schedules google-maintenance with Supabase Cron (pg_cron), Vault and pg_net, as
 * steps `npm run schedule` prints and runs (./main.ts). Every step can run again: the secrets
 * are updated in place and `cron.schedule` replaces a job of the same name. The values are psql
 * variables (`:'project_url'`, `:'key'`), set apart from the printed SQL so the key never shows.
 */

/** The cron job's name. */
export const JOB_NAME = "google-maintenance";

/** Vault secret names the job reads at every run. */
export const SECRET_NAMES = { projectUrl: "project_url", key: "google_maintenance_key" } as const;

/** One step: what it does, its SQL, and whether it needs pg_cron and pg_net. */
export interface Step {
  title: string;
  sql: string;
  /** Needs pg_cron and pg_net, which the local stack's PostgreSQL has not. */
  cronAndNet: boolean;
}

/** Inserts or updates a Vault secret named `name` from psql variable `variable`. */
function upsertSecret(name: string, variable: string): string {
  return `select vault.update_secret(id, :'${variable}') from vault.secrets where name = '${name}';
select vault.create_secret(:'${variable}', '${name}')
where not exists (select from vault.secrets where name = '${name}');`;
}

/** The steps, in order; `schedule` is a cron expression (Supabase Cron's syntax). */
export function scheduleSteps(schedule: string): Step[] {
  if (!/^[\d*/,\- ]+$|^\d+ seconds$/.test(schedule) || schedule.includes("$")) {
    throw new Error(`not a cron schedule: ${JSON.stringify(schedule)}`);
  }
  return [
    {
      title:
        "The project URL and the key, kept in Vault (encrypted at rest, never in the job's text)",
      sql: `${upsertSecret(SECRET_NAMES.projectUrl, "project_url")}
${upsertSecret(SECRET_NAMES.key, "key")}`,
      cronAndNet: false,
    },
    {
      title: "What the job will read at every run (the key is not shown)",
      sql: `select (select decrypted_secret from vault.decrypted_secrets
        where name = '${SECRET_NAMES.projectUrl}') || '/functions/v1/${JOB_NAME}' as url,
       exists (select from vault.decrypted_secrets where name = '${SECRET_NAMES.key}')
         as key_stored;`,
      cronAndNet: false,
    },
    {
      title: "Supabase Cron and pg_net (https://supabase.com/docs/guides/cron/install)",
      sql: `create extension if not exists pg_cron with schema pg_catalog;
create extension if not exists pg_net with schema extensions;`,
      cronAndNet: true,
    },
    {
      title: "One bounded pass on the schedule. Overlapping passes are safe: work is claimed " +
        "with leases and FOR UPDATE SKIP LOCKED",
      sql: `select cron.schedule(
  '${JOB_NAME}',
  '${schedule}',
  $$
  select net.http_post(
    url := (select decrypted_secret from vault.decrypted_secrets
            where name = '${SECRET_NAMES.projectUrl}') || '/functions/v1/${JOB_NAME}',
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets
                                     where name = '${SECRET_NAMES.key}')
    ),
    body := '{}'::jsonb,
    -- Longer than one pass, so pg_net records the pass's JSON report.
    timeout_milliseconds := 120000
  ) as request_id;
  $$
);`,
      cronAndNet: true,
    },
    {
      title: "The job as pg_cron holds it",
      sql: `select jobid, jobname, schedule, active from cron.job where jobname = '${JOB_NAME}';`,
      cronAndNet: true,
    },
  ];
}

/** The steps as one printable script, with the variables named but the key not shown. */
export function printable(steps: Step[], projectUrl: string, keySource: string): string {
  return [
    `-- psql variables: project_url = ${projectUrl}, key = ${keySource} (not printed)`,
    ...steps.map((s) => `\n-- ${s.title}.\n${s.sql}`),
  ].join("\n") + "\n";
}

/** psql meta-commands that set `vars` (quoted for psql; they are not printed). */
export function psqlSets(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([name, value]) => `\\set ${name} '${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`)
    .join("\n") + "\n";
}
