/**
 * Billing at scale (issue 6): a month of invoices, and vendor usage ingestion through the API.
 *
 *   1. invoice generation: a private database, migrated, seeded directly in SQL with a closed
 *      month (default 2026-10): billing entities (nine accounts in ten, the rest teams with one
 *      admin each), an app each, app transfers in and before the month (an account to its team and
 *      back, a team to its admin), add-ons ten to an app on four plans of two vendors (two plans
 *      metered) with their lifecycle events (provisioned before, in and after the month, plan
 *      changes, deprovisions before and in the month, failed provisions), and vendor usage records
 *      of the add-ons on metered plans. Months are invoiced in order, so the months before, from
 *      the add-ons' first, are invoiced first (set-up). Then `attache billing:run --month M --force`
 *      runs as a child process, as an operator runs it: its wall time (Nest boot included) and its
 *      peak RSS (VmHWM, read every 20 ms) are printed, first with the smaller number of usage
 *      records, then, the month's invoices removed, with the full number: same add-ons and
 *      entities. Each result is checked against an independent computation in SQL of every
 *      entity's lines and total; then the run is repeated (the month is marked done: nothing to do)
 *      and repeated again as after a crash before that mark (every entity looked at, nothing written).
 *   2. ingestion: Attache's api and worker as real processes (BenchAttache), a vendor on this
 *      process with a metered plan registered by `catalog:seed-vendor`, one add-on provisioned over
 *      the API and its partner token from the grant exchange; then, per round, batches of new usage
 *      records at POST /addons/{id}/usage from concurrent clients, and a share of the same batches
 *      again (idempotent repeats: every record a duplicate). Rates per round and their median.
 *
 *   npm run build && node bin/run.js bench-billing [--month 2026-10] [--entities 10000] [--addons 100000]
 *       [--records 1000000] [--small-records 250000] [--ingest 100000] [--batch 1000] [--clients 4]
 *       [--repeat-share 0.25] [--warmup-batches 5] [--rounds 3] [--skip-invoices] [--skip-ingest]
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { BenchAttache } from './bench-attache';
import { arg, children, line, root, stats } from './bench-processes';

const MONTH = arg('month', '2026-10');
const ENTITIES = Number(arg('entities', '10000'));
const ADDONS = Number(arg('addons', '100000'));
const RECORDS = Number(arg('records', '1000000'));
const SMALL_RECORDS = Number(arg('small-records', '250000'));
const INGEST = Number(arg('ingest', '100000'));
const BATCH = Number(arg('batch', '1000'));
const CLIENTS = Number(arg('clients', '4'));
const REPEAT_SHARE = Number(arg('repeat-share', '0.25'));
const WARMUP_BATCHES = Number(arg('warmup-batches', '5'));
const ROUNDS = Number(arg('rounds', '3'));
const SKIP_INVOICES = process.argv.includes('--skip-invoices');
const SKIP_INGEST = process.argv.includes('--skip-ingest');
const INVOICE_TARGET_S = 60;
const INGEST_TARGET = 5000;
const PG = process.env.ATTACHE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

const TEAMS = Math.floor(ENTITIES / 10);
const ACCOUNTS = ENTITIES - TEAMS;
/** Transfers, by team number t (account t is team t's admin; app t is account t's, app ACCOUNTS + t team t's). */
const TRANSFERS = {
  /** Account t's app to team t in the middle of the month. */
  midMonth: [0, Math.floor(TEAMS / 2)],
  /** Team t's app to its admin, account t, late in the month. */
  teamToAdmin: [Math.floor(TEAMS / 2), Math.floor((TEAMS * 6) / 10)],
  /** Account t's app to team t before the month: account t has nothing of the month to pay. */
  beforeMonth: [Math.floor((TEAMS * 6) / 10), Math.floor((TEAMS * 7) / 10)],
  /** Account t's app to team t and back within the month. */
  thereAndBack: [Math.floor((TEAMS * 7) / 10), Math.floor((TEAMS * 75) / 100)],
} as const;

const [year, monthIndex] = MONTH.split('-').map(Number);
const MONTH_START = new Date(Date.UTC(year, monthIndex - 1, 1));
const MONTH_END = new Date(Date.UTC(year, monthIndex, 1));
const S = `timestamptz '${MONTH_START.toISOString()}'`;
const E = `timestamptz '${MONTH_END.toISOString()}'`;
const sec = (expr: string) => `(${expr}) * interval '1 second'`;
const day = (n: number) => `interval '${n} days'`;
/** The add-ons seeded first are provisioned this many days before the month starts. */
const EARLIEST_DAYS = 61;
const monthOf = (at: Date) => at.toISOString().slice(0, 7);
const nextMonth = (month: string) => {
  const [y, m] = month.split('-').map(Number);
  return monthOf(new Date(Date.UTC(y, m, 1)));
};
const US_REGION = '59accabd-516d-4f0e-83e6-6e3757701145';
const PLAN_PRICES = [500, 2500, 1000, 5000];
/** Plans 0 and 1 are the first vendor's, 2 and 3 the second's; 1 and 2 are metered. */
const PLAN_METERS = [
  [],
  [{ dimension: 'api_calls', unit: 'call', cents_per_unit: 1, included: 100 }],
  [
    { dimension: 'api_calls', unit: 'call', cents_per_unit: 2, included: 50 },
    { dimension: 'storage_gb', unit: 'GB', cents_per_unit: 10, included: 0 },
  ],
  [],
];
const METERS_SQL = `(ARRAY[${PLAN_METERS.map((m) => `'${JSON.stringify(m)}'::jsonb`).join(', ')}])`;
const planId = (i: number | string) => `md5('bench-plan-' || ${i})::uuid`;
/** Usage occurs in [month start + 10 days, + 24 days): after every plan change, before every deprovision of the month. */
const USAGE_FROM_DAY = 10;
const USAGE_SECONDS = 14 * 86400;

/** The catalog, the entities, their apps and transfers, the add-ons and their events, and the list of add-ons that report usage (a temp table). */
function seedSql(): string {
  const [midA, midB] = TRANSFERS.midMonth;
  const [t2aA, t2aB] = TRANSFERS.teamToAdmin;
  const [befA, befB] = TRANSFERS.beforeMonth;
  const [tabA, tabB] = TRANSFERS.thereAndBack;
  const T0 = `${S} - ${day(120)}`;
  const entity = (kind: 'account' | 'team', n: string) => `jsonb_build_object('kind', '${kind}', 'id', md5('bench-${kind}-' || ${n})::uuid)`;
  const transfer = (from: string, to: string) => `jsonb_build_object('from', ${from}, 'to', ${to})`;
  return `
    INSERT INTO accounts (id, email, created_at, updated_at) VALUES (md5('bench-vendor')::uuid, 'bench-vendor@example.test', ${T0}, ${T0});
    INSERT INTO addon_services (id, slug, human_name, owner_account_id, provider, state, published, config_vars_prefix, default_alias, base_url, sso_url, created_at, updated_at)
    SELECT md5('bench-service-' || s)::uuid, 'bench-vendor-' || s, 'Bench vendor ' || s, md5('bench-vendor')::uuid, 'http', 'ga', true, 'BENCH_VENDOR_' || s, 'BENCH_VENDOR_' || s,
           'http://127.0.0.1:9/heroku/resources', 'http://127.0.0.1:9/sso', ${T0}, ${T0}
      FROM generate_series(0, 1) s;
    INSERT INTO plans (id, service_id, name, human_name, price_cents, price_unit, is_default, state, meters, created_at, updated_at)
    SELECT ${planId('p')}, md5('bench-service-' || (p / 2))::uuid, 'plan-' || p, 'Plan ' || p, (ARRAY[${PLAN_PRICES.join(', ')}])[p + 1], 'month', p % 2 = 0, 'public',
           ${METERS_SQL}[p + 1], ${T0}, ${T0}
      FROM generate_series(0, 3) p;

    INSERT INTO accounts (id, email, created_at, updated_at)
    SELECT md5('bench-account-' || i)::uuid, 'bench-' || i || '@example.test', ${T0}, ${T0} FROM generate_series(0, ${ACCOUNTS - 1}) i;
    INSERT INTO teams (id, name, created_at, updated_at) SELECT md5('bench-team-' || t)::uuid, 'bench-team-' || t, ${T0}, ${T0} FROM generate_series(0, ${TEAMS - 1}) t;
    INSERT INTO team_members (team_id, account_id, role, created_at)
    SELECT md5('bench-team-' || t)::uuid, md5('bench-account-' || t)::uuid, 'admin', ${T0} FROM generate_series(0, ${TEAMS - 1}) t;

    -- App a: account a's for a < ${ACCOUNTS}, else team (a - ${ACCOUNTS})'s; the owner columns as the last transfer left them.
    INSERT INTO apps (id, name, owner_account_id, owner_team_id, region_id, created_at, updated_at)
    SELECT md5('bench-app-' || a)::uuid, 'bench-app-' || a, md5('bench-account-' || CASE WHEN a < ${ACCOUNTS} THEN a ELSE a - ${ACCOUNTS} END)::uuid,
           CASE
             WHEN a < ${ACCOUNTS} AND ((a >= ${midA} AND a < ${midB}) OR (a >= ${befA} AND a < ${befB})) THEN md5('bench-team-' || a)::uuid
             WHEN a >= ${ACCOUNTS} AND NOT (a - ${ACCOUNTS} >= ${t2aA} AND a - ${ACCOUNTS} < ${t2aB}) THEN md5('bench-team-' || (a - ${ACCOUNTS}))::uuid
           END,
           '${US_REGION}', ${T0}, ${T0}
      FROM generate_series(0, ${ENTITIES - 1}) a;

    INSERT INTO lifecycle_events (type, app_id, occurred_at, data)
    SELECT 'app.transferred', md5('bench-app-' || app)::uuid, at, data FROM (
      SELECT t AS app, ${S} - ${day(42)} + ${sec('t')} AS at, ${transfer(entity('account', 't'), entity('team', 't'))} AS data FROM generate_series(${befA}, ${befB - 1}) t
      UNION ALL
      SELECT t, ${S} + ${day(7)} + ${sec('t')}, ${transfer(entity('account', 't'), entity('team', 't'))} FROM generate_series(${tabA}, ${tabB - 1}) t
      UNION ALL
      SELECT t, ${S} + ${day(14)} + interval '12 hours' + ${sec('t')}, ${transfer(entity('account', 't'), entity('team', 't'))} FROM generate_series(${midA}, ${midB - 1}) t
      UNION ALL
      SELECT ${ACCOUNTS} + t, ${S} + ${day(19)} + ${sec('t')}, ${transfer(entity('team', 't'), entity('account', 't'))} FROM generate_series(${t2aA}, ${t2aB - 1}) t
      UNION ALL
      SELECT t, ${S} + ${day(21)} + ${sec('t')}, ${transfer(entity('team', 't'), entity('account', 't'))} FROM generate_series(${tabA}, ${tabB - 1}) t
    ) x ORDER BY at;

    -- Add-on k, on app floor(k × apps / add-ons): plan k % 4; by k % 10 (and 20, 50, 100) provisioned in the month or after it,
    -- changed to the other plan of its vendor, deprovisioned in or before the month, failed.
    CREATE TEMP TABLE seed_addons AS
    SELECT k, md5('bench-addon-' || k)::uuid AS id, md5('bench-app-' || (k::bigint * ${ENTITIES} / ${ADDONS}))::uuid AS app_id,
           md5('bench-service-' || (k % 4 / 2))::uuid AS service_id, k % 4 AS plan_from,
           CASE WHEN k % 10 = 5 THEN (k % 4) # 1 ELSE k % 4 END AS plan_to,
           CASE WHEN k % 100 = 99 THEN ${E} + ${day(2)} WHEN k % 10 = 1 THEN ${S} + ${day(4)} ELSE ${S} - ${day(EARLIEST_DAYS)} END + ${sec('k % 86400')} AS created_at,
           CASE WHEN k % 10 = 5 THEN ${S} + ${day(9)} + ${sec('k % 3600')} END AS changed_at,
           CASE WHEN k % 20 = 3 THEN ${S} + ${day(24)} + ${sec('k % 3600')} WHEN k % 50 = 7 THEN ${S} - ${day(16)} + ${sec('k % 3600')} END AS deprovisioned_at,
           k % 100 = 41 AS failed
      FROM generate_series(0, ${ADDONS - 1}) k;
    INSERT INTO addons (id, name, service_id, plan_id, app_id, region_id, state, billed_price_cents, billed_price_unit, created_at, updated_at,
                        provisioned_at, deprovision_requested_at, deprovisioned_at)
    SELECT id, 'bench-addon-' || k, service_id, ${planId('plan_to')}, app_id, '${US_REGION}',
           CASE WHEN failed OR deprovisioned_at IS NOT NULL THEN 'deprovisioned' ELSE 'provisioned' END, (ARRAY[${PLAN_PRICES.join(', ')}])[plan_to + 1], 'month',
           created_at, CASE WHEN failed THEN created_at + interval '1 minute' ELSE COALESCE(deprovisioned_at + interval '5 seconds', changed_at, created_at + interval '2 seconds') END,
           CASE WHEN NOT failed THEN created_at + interval '2 seconds' END, deprovisioned_at, deprovisioned_at + interval '5 seconds'
      FROM seed_addons;
    INSERT INTO lifecycle_events (type, addon_id, app_id, occurred_at, data)
    SELECT type, id, app_id, at, data FROM (
      SELECT k, 0 AS n, id, app_id, 'addon.provision_requested' AS type, created_at AS at,
             jsonb_build_object('plan_id', ${planId('plan_from')}, 'service_id', service_id, 'price_cents', (ARRAY[${PLAN_PRICES.join(', ')}])[plan_from + 1], 'price_unit', 'month',
                                'meters', ${METERS_SQL}[plan_from + 1]) AS data
        FROM seed_addons
      UNION ALL
      SELECT k, 1, id, app_id, CASE WHEN failed THEN 'addon.provision_failed' ELSE 'addon.provisioned' END,
             created_at + CASE WHEN failed THEN interval '1 minute' ELSE interval '2 seconds' END, '{}'::jsonb FROM seed_addons
      UNION ALL
      SELECT k, 2, id, app_id, 'addon.plan_changed', changed_at,
             jsonb_build_object('from_plan_id', ${planId('plan_from')}, 'to_plan_id', ${planId('plan_to')}, 'price_cents', (ARRAY[${PLAN_PRICES.join(', ')}])[plan_to + 1], 'price_unit', 'month',
                                'meters', ${METERS_SQL}[plan_to + 1])
        FROM seed_addons WHERE changed_at IS NOT NULL
      UNION ALL
      SELECT k, 3, id, app_id, 'addon.deprovision_requested', deprovisioned_at, '{}'::jsonb FROM seed_addons WHERE deprovisioned_at IS NOT NULL
      UNION ALL
      SELECT k, 4, id, app_id, 'addon.deprovisioned', deprovisioned_at + interval '5 seconds', '{}'::jsonb FROM seed_addons WHERE deprovisioned_at IS NOT NULL
    ) x ORDER BY k, n;

    -- Who reports usage: add-ons on a metered plan in the usage window (alive through it, plan changes done).
    CREATE TEMP TABLE seed_metered AS
    SELECT (row_number() OVER (ORDER BY k) - 1)::int AS n, id, service_id, plan_to = 2 AS two_meters FROM seed_addons
     WHERE plan_to IN (1, 2) AND NOT failed AND created_at < ${S} + ${day(USAGE_FROM_DAY)}
       AND (deprovisioned_at IS NULL OR deprovisioned_at >= ${S} + ${day(USAGE_FROM_DAY)} + ${sec(String(USAGE_SECONDS))});
  `;
}

/** Usage records r in [from, to): record r goes to metered add-on r % M, in the usage window, received five minutes later. */
function usageSql(from: number, to: number): string {
  return `
    INSERT INTO usage_records (service_id, record_id, addon_id, dimension, quantity, occurred_at, received_at)
    SELECT m.service_id, 'u-' || r, m.id, CASE WHEN m.two_meters AND (r / c.n) % 2 = 1 THEN 'storage_gb' ELSE 'api_calls' END, 1 + (r * 31) % 50,
           ${S} + ${day(USAGE_FROM_DAY)} + ${sec(`(r * 7919) % ${USAGE_SECONDS}`)}, ${S} + ${day(USAGE_FROM_DAY)} + ${sec(`(r * 7919) % ${USAGE_SECONDS} + 300`)}
      FROM generate_series(${from}::bigint, ${to - 1}) r CROSS JOIN (SELECT count(*)::int AS n FROM seed_metered) c JOIN seed_metered m ON m.n = r % c.n`;
}

/**
 * Every entity's invoice for the month as the metering rules (DESIGN §6) make it, computed in SQL
 * from the tables alone, against the invoices written. Time: a line per add-on, plan and price for
 * the seconds the entity owned the app; a share of the add-on's month is priced where it falls in
 * the add-on's time on that plan and price (prorate at its last second minus prorate at its first;
 * prorate = price × seconds ÷ the month's seconds, rounded half up, capped at the price), so the
 * owners' shares add up to the whole month's amount. Usage: the month's records per add-on and
 * meter, above the meter's allowance, billed to whoever owned the app at the add-on's last second
 * in the month, priced by the latest period of the month with the meter (its meters as frozen in
 * the event, else the plan's).
 */
const CHECK_SQL = `
  WITH bounds AS (SELECT ${S} AS s, ${E} AS e, extract(epoch FROM ${E} - ${S})::bigint AS month_seconds),
  tr AS (SELECT app_id, date_trunc('second', occurred_at) AS at, data, row_number() OVER (PARTITION BY app_id ORDER BY id) AS n
           FROM lifecycle_events WHERE type = 'app.transferred'),
  owners AS (
    SELECT p.id AS app_id, COALESCE(f.data->'from'->>'kind', CASE WHEN p.owner_team_id IS NULL THEN 'account' ELSE 'team' END) AS kind,
           COALESCE((f.data->'from'->>'id')::uuid, p.owner_team_id, p.owner_account_id) AS id, timestamptz '-infinity' AS s, COALESCE(f.at, 'infinity') AS e
      FROM apps p LEFT JOIN tr f ON f.app_id = p.id AND f.n = 1
    UNION ALL
    SELECT app_id, data->'to'->>'kind', (data->'to'->>'id')::uuid, at, COALESCE(lead(at) OVER (PARTITION BY app_id ORDER BY n), 'infinity') FROM tr),
  ev AS (SELECT id, addon_id, type, date_trunc('second', occurred_at) AS at, data FROM lifecycle_events
          WHERE addon_id IS NOT NULL AND type IN ('addon.provision_requested', 'addon.provision_failed', 'addon.plan_changed', 'addon.deprovision_requested')),
  periods AS (
    SELECT * FROM (
      SELECT addon_id, type, COALESCE(data->>'to_plan_id', data->>'plan_id')::uuid AS plan_id, (data->>'price_cents')::bigint AS price, data->'meters' AS meters, at AS s,
             COALESCE(lead(at) OVER (PARTITION BY addon_id ORDER BY id), 'infinity') AS e
        FROM ev WHERE addon_id NOT IN (SELECT addon_id FROM ev WHERE type = 'addon.provision_failed')) x
     WHERE type <> 'addon.deprovision_requested'),
  -- Each period inside the month (possibly empty).
  month_periods AS (SELECT p.addon_id, p.plan_id, p.price, greatest(p.s, b.s) AS s, least(p.e, b.e) AS e FROM periods p CROSS JOIN bounds b),
  -- The parts of them each owner had.
  parts AS (
    SELECT o.kind, o.id, p.addon_id, p.plan_id, p.price, greatest(p.s, o.s) AS s, least(p.e, o.e) AS e
      FROM month_periods p JOIN addons a ON a.id = p.addon_id JOIN owners o ON o.app_id = a.app_id
     WHERE least(p.e, o.e) > greatest(p.s, o.s)),
  -- Seconds on the part's plan and price in the month before its first and its last second.
  placed AS (
    SELECT t.kind, t.id, t.addon_id, t.plan_id, t.price,
           sum(greatest(0, extract(epoch FROM least(m.e, t.s) - m.s)))::bigint AS before_start,
           sum(greatest(0, extract(epoch FROM least(m.e, t.e) - m.s)))::bigint AS before_end
      FROM parts t JOIN month_periods m ON m.addon_id = t.addon_id AND m.plan_id = t.plan_id AND m.price = t.price
     GROUP BY t.kind, t.id, t.addon_id, t.plan_id, t.price, t.s, t.e),
  time_lines AS (
    SELECT kind, id, sum(
             CASE WHEN price > 0 AND before_end > 0 THEN least(price, (2 * price * before_end + b.month_seconds) / (2 * b.month_seconds)) ELSE 0 END -
             CASE WHEN price > 0 AND before_start > 0 THEN least(price, (2 * price * before_start + b.month_seconds) / (2 * b.month_seconds)) ELSE 0 END) AS cents
      FROM placed CROSS JOIN bounds b GROUP BY kind, id, addon_id, plan_id, price),
  in_month AS (SELECT p.* FROM periods p CROSS JOIN bounds b WHERE least(p.e, b.e) > greatest(p.s, b.s)),
  last_second AS (SELECT DISTINCT ON (addon_id) addon_id, least(p.e, b.e) - interval '1 second' AS at FROM in_month p CROSS JOIN bounds b ORDER BY addon_id, p.s DESC),
  meter AS (
    SELECT DISTINCT ON (p.addon_id, m->>'dimension') p.addon_id, m->>'dimension' AS dimension, (m->>'cents_per_unit')::bigint AS cents_per_unit, (m->>'included')::bigint AS included
      FROM in_month p JOIN plans pl ON pl.id = p.plan_id CROSS JOIN LATERAL jsonb_array_elements(COALESCE(p.meters, pl.meters)) m
     ORDER BY p.addon_id, m->>'dimension', p.s DESC),
  usage AS (
    SELECT addon_id, dimension, sum(quantity) AS quantity FROM usage_records
     WHERE occurred_at >= ${S} AND occurred_at < ${E} AND received_at < (SELECT max(usage_cutoff) FROM invoices WHERE month = $1)
     GROUP BY 1, 2),
  metered AS (
    SELECT o.kind, o.id, greatest(0, u.quantity - m.included) * m.cents_per_unit AS cents
      FROM usage u JOIN last_second l ON l.addon_id = u.addon_id JOIN meter m ON m.addon_id = u.addon_id AND m.dimension = u.dimension
      JOIN addons a ON a.id = u.addon_id JOIN owners o ON o.app_id = a.app_id AND o.s <= l.at AND l.at < o.e),
  expected AS (
    SELECT kind, id, sum(cents) AS cents, count(*) AS lines FROM (SELECT kind, id, cents FROM time_lines UNION ALL SELECT kind, id, cents FROM metered) x
     GROUP BY 1, 2),
  actual AS (
    SELECT i.entity_kind AS kind, i.entity_id AS id, i.total_cents AS cents, count(l.position) AS lines, COALESCE(sum(l.cents), 0) AS line_cents
      FROM invoices i LEFT JOIN invoice_lines l ON l.invoice_id = i.id WHERE i.month = $1 GROUP BY i.id)
  SELECT (SELECT count(*) FROM expected)::int AS expected_invoices, (SELECT COALESCE(sum(cents), 0) FROM expected)::text AS expected_cents,
         (SELECT COALESCE(sum(lines), 0) FROM expected)::int AS expected_lines,
         count(a.id)::int AS invoices, COALESCE(sum(a.cents), 0)::text AS cents, COALESCE(sum(a.lines), 0)::int AS lines,
         COALESCE(sum(a.line_cents), 0)::text AS line_cents, count(*) FILTER (WHERE a.cents <> a.line_cents)::int AS totals_off,
         count(*) FILTER (WHERE e.id IS NULL OR a.id IS NULL OR e.cents <> a.cents OR e.lines <> a.lines)::int AS mismatched
    FROM expected e FULL JOIN actual a ON a.kind = e.kind AND a.id = e.id`;

interface CheckResult {
  expected_invoices: number;
  expected_cents: string;
  expected_lines: number;
  invoices: number;
  cents: string;
  lines: number;
  line_cents: string;
  totals_off: number;
  mismatched: number;
}

/** Peak RSS of a process so far (VmHWM, KiB); 0 once it is gone. */
function peakRssKiB(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds the processes have used so far, from /proc (USER_HZ 100). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone: its CPU is lost to the count
    }
  }
  return ticks / 100;
}

/** Busy and total jiffies of the whole machine. */
function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3] - fields[4], total };
}

interface Measured {
  ms: number;
  peakKiB: number;
  stdout: string;
}

/** `bin/attache.js <args>` as a child process: wall time from spawn to exit, and its peak RSS read every 20 ms. */
async function measuredCli(env: NodeJS.ProcessEnv, args: string[]): Promise<Measured> {
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, [join(root, 'bin', 'attache.js'), ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  let peakKiB = 0;
  const poll = setInterval(() => (peakKiB = Math.max(peakKiB, peakRssKiB(child.pid!))), 20);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const ms = performance.now() - t0;
  clearInterval(poll);
  if (code !== 0) throw new Error(`attache ${args.join(' ')} exited with ${code}`);
  return { ms, peakKiB, stdout: stdout.trim() };
}

const started = performance.now();
/** Where the bench is, on stderr (the figures go to stdout). */
const progress = (what: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${what}\n`);

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
/** `+3%`, `-1%`, `0%`. */
const signedPercent = (ratio: number) => {
  const pct = Math.round(ratio * 100);
  return `${pct > 0 ? '+' : ''}${pct === 0 ? 0 : pct}%`;
};
const n = (value: number | string) => Number(value).toLocaleString('en-US');

// --- 1. invoice generation ------------------------------------------------------------------------

async function invoices(out: string[]): Promise<void> {
  const database = `attache_bench_billing_${randomBytes(4).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    DATABASE_URL: `${PG}/${database}${process.env.ATTACHE_BENCH_PG_QUERY ?? ''}`,
    ATTACHE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
  };
  const admin = new Client({ connectionString: `${PG}/postgres` });
  await admin.connect();
  const db = new Client({ connectionString: env.DATABASE_URL });
  db.on('error', () => undefined);
  try {
    execFileSync(process.execPath, [join(root, 'bin', 'attache.js'), 'db:migrate'], { env, encoding: 'utf8' });
    await db.connect();
    const server = (
      await db.query<{ version: string; shared_buffers: string; work_mem: string; autovacuum: string }>(
        `SELECT current_setting('server_version') AS version, current_setting('shared_buffers') AS shared_buffers, current_setting('work_mem') AS work_mem,
                current_setting('autovacuum') AS autovacuum`,
      )
    ).rows[0];

    progress(`seeding ${database}`);
    let t0 = performance.now();
    await db.query(seedSql());
    progress(`seeding ${n(SMALL_RECORDS)} usage records`);
    await db.query(usageSql(0, SMALL_RECORDS));
    // As autovacuum would have done by the time the month is invoiced (this server may run without it).
    await db.query('VACUUM ANALYZE');
    const seeded = performance.now() - t0;
    const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0].n);
    const sizes = {
      addons: await count('SELECT count(*) AS n FROM addons'),
      events: await count('SELECT count(*) AS n FROM lifecycle_events'),
      transfers: await count("SELECT count(*) AS n FROM lifecycle_events WHERE type = 'app.transferred'"),
      metered: await count('SELECT count(*) AS n FROM seed_metered'),
    };

    // Months are invoiced in order: the ones before, with the add-ons' first months, go first (untimed by the target).
    const earlier: { month: string; run: Measured }[] = [];
    for (let m = monthOf(new Date(MONTH_START.getTime() - EARLIEST_DAYS * 86400_000)); m !== MONTH; m = nextMonth(m)) {
      progress(`billing:run --month ${m}`);
      earlier.push({ month: m, run: await measuredCli(env, ['billing:run', '--month', m, '--force']) });
    }
    await db.query('VACUUM ANALYZE invoices, invoice_lines, billing_runs');
    const runArgs = ['billing:run', '--month', MONTH, '--force'];
    const check = async () => (await db.query<CheckResult>(CHECK_SQL, [MONTH])).rows[0];
    const runs: { records: number; run: Measured; check: CheckResult; checkMs: number }[] = [];
    const measure = async (records: number) => {
      progress(`billing:run with ${n(records)} usage records`);
      const run = await measuredCli(env, runArgs);
      const c0 = performance.now();
      const checked = await check();
      runs.push({ records, run, check: checked, checkMs: performance.now() - c0 });
    };
    await measure(SMALL_RECORDS);

    // The same month again with the full number of records. Invoices are final (a trigger refuses UPDATE and DELETE): the
    // month's are removed with triggers off for this session.
    await db.query(`SET session_replication_role = replica;
      DELETE FROM invoice_lines WHERE invoice_id IN (SELECT id FROM invoices WHERE month = '${MONTH}');
      DELETE FROM invoices WHERE month = '${MONTH}';
      DELETE FROM billing_runs WHERE month = '${MONTH}';
      RESET session_replication_role;`);
    progress(`seeding ${n(RECORDS - SMALL_RECORDS)} more usage records`);
    t0 = performance.now();
    await db.query(usageSql(SMALL_RECORDS, RECORDS));
    await db.query('VACUUM ANALYZE usage_records, invoices, invoice_lines, billing_runs');
    const seededMore = performance.now() - t0;
    const usageRows = await count('SELECT count(*) AS n FROM usage_records');
    if (usageRows !== RECORDS) throw new Error(`expected ${RECORDS} usage records, found ${usageRows}`);
    await measure(RECORDS);
    const full = runs[runs.length - 1];

    // A rerun finds the month done; one after a crash before that mark looks at every entity again and writes nothing.
    progress('reruns');
    const before = await count('SELECT count(*) AS n FROM invoice_lines');
    const done = await measuredCli(env, runArgs);
    await db.query('DELETE FROM billing_runs WHERE month = $1', [MONTH]);
    const resumed = await measuredCli(env, runArgs);
    const after = await count('SELECT count(*) AS n FROM invoice_lines');
    const invoicesAfter = await count(`SELECT count(*) AS n FROM invoices WHERE month = '${MONTH}'`);

    const ok = (c: CheckResult) =>
      c.mismatched === 0 && c.totals_off === 0 && c.invoices === c.expected_invoices && c.cents === c.expected_cents && c.lines === c.expected_lines;
    out.push(
      `database: PostgreSQL ${server.version} on 127.0.0.1 (shared_buffers ${server.shared_buffers}, work_mem ${server.work_mem}, autovacuum ${server.autovacuum}); ` +
        'a private database, migrated, seeded in SQL; VACUUM ANALYZE after each seeding and before the measured runs, as autovacuum would',
      `invoice generation: month ${MONTH}, \`attache ${runArgs.join(' ')}\` as a child process (Nest context boot included; entities in batches of 500 per transaction)`,
      `  sizes: ${n(ENTITIES)} billing entities (${n(ACCOUNTS)} accounts, ${n(TEAMS)} teams with an admin each), ${n(ENTITIES)} apps, ${n(sizes.transfers)} app transfers ` +
        `(${TRANSFERS.midMonth[1] - TRANSFERS.midMonth[0]} account→team mid-month, ${TRANSFERS.teamToAdmin[1] - TRANSFERS.teamToAdmin[0]} team→account, ` +
        `${TRANSFERS.thereAndBack[1] - TRANSFERS.thereAndBack[0]} there and back, ${TRANSFERS.beforeMonth[1] - TRANSFERS.beforeMonth[0]} before the month),`,
      `         ${n(sizes.addons)} add-ons on 4 plans of 2 vendors (2 metered; plan changes, deprovisions in and before the month, failed provisions, some created after it),`,
      `         ${n(sizes.events)} lifecycle events, usage records over ${n(sizes.metered)} add-ons on metered plans (seeded in ${s(seeded)} + ${s(seededMore)})`,
      ...earlier.map(
        ({ month, run }, i) =>
          `  set-up, the months before in order: ${month} ${s(run.ms)} wall, ${mib(run.peakKiB)} peak${i === 0 ? ' (the first run, on empty invoice tables)' : ''}: ${run.stdout}`,
      ),
      `  ${'usage records'.padEnd(14)} ${'wall'.padStart(8)} ${'peak RSS'.padStart(9)}   result`,
      ...runs.map(
        ({ records, run }) => `  ${n(records).padEnd(14)} ${s(run.ms).padStart(8)} ${mib(run.peakKiB).padStart(9)}   ${run.stdout}`,
      ),
      `  rerun, month marked done: ${s(done.ms)} wall, ${mib(done.peakKiB)} peak (the CLI's boot and one query): ${done.stdout}`,
      `  rerun as after a crash before the mark: ${s(resumed.ms)} wall, ${mib(resumed.peakKiB)} peak: ${resumed.stdout}`,
      `  reruns wrote ${after - before} invoice lines, ${invoicesAfter - full.check.invoices} invoices`,
      `  target: under ${INVOICE_TARGET_S} s with ${n(RECORDS)} records: ${full.run.ms / 1000 < INVOICE_TARGET_S ? 'met' : 'NOT met'}; ` +
        `peak RSS ${mib(runs[0].run.peakKiB)} with ${n(runs[0].records)} records, ${mib(full.run.peakKiB)} with ${n(full.records)} ` +
        `(${signedPercent(full.run.peakKiB / runs[0].run.peakKiB - 1)} for ${(full.records / runs[0].records).toFixed(0)}× the records)`,
      ...runs.map(
        ({ records, check: c, checkMs }) =>
          `  check (${n(records)} records, independent SQL, ${s(checkMs)}): ${n(c.invoices)} invoices for ${n(c.expected_invoices)} entities with something to pay; ` +
          `${n(c.lines)} lines (expected ${n(c.expected_lines)}); totals ${n(c.cents)} ¢, lines ${n(c.line_cents)} ¢, expected ${n(c.expected_cents)} ¢; ` +
          `${c.totals_off} invoices off their lines, ${c.mismatched} entities off the expected total or line count: ${ok(c) ? 'OK' : 'FAILED'}`,
      ),
    );
    if (!runs.every((r) => ok(r.check)) || after !== before || invoicesAfter !== full.check.invoices) process.exitCode = 1;
  } finally {
    await db.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

// --- 2. ingestion ---------------------------------------------------------------------------------

/** A vendor that provisions at once and keeps each add-on's OAuth grant code. */
function meteredVendor(configVar: string, grants: Map<string, string>): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      if (req.method === 'POST') {
        const call = JSON.parse(body) as { uuid: string; oauth_grant?: { code: string } };
        if (call.oauth_grant) grants.set(call.uuid, call.oauth_grant.code);
        res.end(JSON.stringify({ id: call.uuid, config: { [configVar]: `https://bench.example/${call.uuid}` } }));
      } else {
        res.statusCode = req.method === 'DELETE' ? 204 : 200;
        res.end(req.method === 'DELETE' ? undefined : '{}');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function ingestion(out: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'attache-bench-billing-'));
  const slug = `bench-meter-${randomBytes(3).toString('hex')}`;
  const prefix = slug.toUpperCase().replace(/-/g, '_');
  const grants = new Map<string, string>();
  const vendor = await meteredVendor(`${prefix}_URL`, grants);
  const vendorUrl = `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`;
  const manifestFile = join(dir, 'manifest.json');
  const secretFile = join(dir, 'client-secret');
  writeFileSync(
    manifestFile,
    JSON.stringify({
      id: slug,
      name: 'Bench metered vendor',
      api: {
        config_vars_prefix: prefix,
        config_vars: [`${prefix}_URL`],
        password: randomBytes(16).toString('hex'),
        sso_salt: randomBytes(16).toString('hex'),
        regions: ['us'],
        requires: [],
        production: { base_url: `${vendorUrl}/heroku/resources`, sso_url: `${vendorUrl}/sso` },
        version: '3',
      },
      plans: [
        {
          name: 'metered',
          human_name: 'Metered',
          price: { cents: 1000, unit: 'month' },
          default: true,
          state: 'public',
          meters: [{ dimension: 'api_calls', unit: 'call', cents_per_unit: 1, included: 100 }],
        },
      ],
    }),
  );
  const attache = await BenchAttache.open({ backupDir: join(dir, 'backups') });
  try {
    await attache.start(['catalog:seed-vendor', '--manifest', manifestFile, '--owner', `vendor-${slug}@example.test`, '--publish', '--client-secret-file', secretFile]);
    const { db } = attache;
    const provisioned = await attache.listenProvisioned();
    const app = await attache.createApp();
    const created = await attache.fetch(`/apps/${app}/addons`, { method: 'POST', body: JSON.stringify({ plan: `${slug}:metered` }) });
    const addon = ((await created.json()) as { id: string }).id;
    if (created.status !== 201) throw new Error(`add-on create failed: ${created.status}`);
    await provisioned(addon);
    const code = grants.get(addon);
    if (!code) throw new Error('the vendor got no OAuth grant for the add-on');
    const exchanged = await fetch(`${attache.base}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, client_secret: readFileSync(secretFile, 'utf8').trim() }).toString(),
    });
    if (exchanged.status !== 200) throw new Error(`grant exchange failed: ${exchanged.status} ${await exchanged.text()}`);
    const token = ((await exchanged.json()) as { access_token: string }).access_token;

    // The bodies are made beforehand: the figures are the API's, not the clients' JSON.
    const timestamp = new Date().toISOString();
    const body = (prefixId: string, b: number) =>
      JSON.stringify({ records: Array.from({ length: BATCH }, (_, i) => ({ id: `${prefixId}-${b * BATCH + i}`, dimension: 'api_calls', quantity: 1 + (i % 10), timestamp })) });
    const batchesPerRound = Math.ceil(INGEST / BATCH);
    const repeatsPerRound = Math.round(batchesPerRound * REPEAT_SHARE);
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/vnd.heroku+json; version=3' };

    const backends = async () =>
      (await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows.map((r) => Number(r.pid));
    interface Sent {
      records: number;
      ms: number;
      latencies: number[];
      cpu: { api: number; postgres: number; bench: number; busy: number; total: number };
    }
    /** Sends the bodies from CLIENTS concurrent clients; each answer must count `accepted` new records and `duplicates` repeats. */
    const send = async (bodies: string[], accepted: number, duplicates: number): Promise<Sent> => {
      const latencies: number[] = [];
      const api = children[0].pid!;
      const postgres = await backends();
      const cpu0 = { api: cpuSeconds([api]), postgres: cpuSeconds(postgres), bench: process.cpuUsage(), machine: machineTicks() };
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (next < bodies.length) {
            const payload = bodies[next++];
            const r0 = performance.now();
            const response = await fetch(`${attache.base}/addons/${addon}/usage`, { method: 'POST', headers, body: payload });
            const text = await response.text();
            latencies.push(performance.now() - r0);
            const tail = /"accepted":(\d+),"duplicates":(\d+)\}$/.exec(text.slice(-80));
            if (response.status !== 201 || !tail || Number(tail[1]) !== accepted || Number(tail[2]) !== duplicates) {
              throw new Error(`usage report answered ${response.status}: ${text.slice(0, 300)}…${text.slice(-80)}`);
            }
          }
        }),
      );
      const ms = performance.now() - t0;
      const machine = machineTicks();
      const bench = process.cpuUsage(cpu0.bench);
      return {
        records: bodies.length * BATCH,
        ms,
        latencies,
        cpu: {
          api: cpuSeconds([api]) - cpu0.api,
          postgres: cpuSeconds(postgres) - cpu0.postgres,
          bench: (bench.user + bench.system) / 1e6,
          busy: machine.busy - cpu0.machine.busy,
          total: machine.total - cpu0.machine.total,
        },
      };
    };
    /** Rates of the rounds and what they used, summed over the rounds. */
    const summary = (runs: Sent[]) => {
      const sum = (pick: (r: Sent) => number) => runs.reduce((total, r) => total + pick(r), 0);
      const records = sum((r) => r.records);
      const perK = (seconds: number) => ((seconds * 1e6) / records).toFixed(1);
      return {
        rates: runs.map((r) => r.records / (r.ms / 1000)),
        latencies: runs.flatMap((r) => r.latencies),
        cpu:
          `CPU per 1,000 records: api ${perK(sum((r) => r.cpu.api))} ms, postgres ${perK(sum((r) => r.cpu.postgres))} ms, ` +
          `bench clients ${perK(sum((r) => r.cpu.bench))} ms; machine ${((sum((r) => r.cpu.busy) / sum((r) => r.cpu.total)) * 100).toFixed(0)}% busy`,
      };
    };

    progress(`ingestion: ${WARMUP_BATCHES} warm-up batches, then ${ROUNDS} rounds`);
    await send(
      Array.from({ length: WARMUP_BATCHES }, (_, b) => body('warm', b)),
      BATCH,
      0,
    );
    const fresh: Sent[] = [];
    const again: Sent[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const batches = Array.from({ length: batchesPerRound }, (_, b) => body(`r${round}`, b));
      fresh.push(await send(batches, BATCH, 0));
      again.push(await send(batches.slice(0, repeatsPerRound), 0, BATCH));
    }
    const stored = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM usage_records WHERE addon_id = $1', [addon])).rows[0].n);
    const expected = (WARMUP_BATCHES + ROUNDS * batchesPerRound) * BATCH;
    const apiRss = peakRssKiB(children[0].pid!);
    const [newRuns, repeatRuns] = [summary(fresh), summary(again)];
    const median = (values: number[]) => stats(values).p50;
    const rates = (values: number[]) => values.map((v) => n(Math.round(v))).join(', ');
    out.push(
      `usage ingestion: POST /addons/{id}/usage with the add-on's partner token, one add-on of a metered plan, batches of ${n(BATCH)} records ` +
        `(bodies of ${(Buffer.byteLength(body('r0', 0)) / 1024).toFixed(0)} KiB), ${CLIENTS} concurrent clients; api and worker as real processes`,
      `  ${ROUNDS} rounds after ${WARMUP_BATCHES} warm-up batches, each ${n(batchesPerRound * BATCH)} new records, then its first ${repeatsPerRound} batches again ` +
        `(${n(repeatsPerRound * BATCH)} idempotent repeats, every record answered as a duplicate)`,
      `  new records   median ${n(Math.round(median(newRuns.rates))).padStart(7)} records/s   (rounds ${rates(newRuns.rates)}; target ≥ ${n(INGEST_TARGET)}: ${median(newRuns.rates) >= INGEST_TARGET ? 'met' : 'NOT met'})`,
      line('batch latency, new', newRuns.latencies),
      `  ${newRuns.cpu}`,
      `  repeats       median ${n(Math.round(median(repeatRuns.rates))).padStart(7)} records/s   (rounds ${rates(repeatRuns.rates)})`,
      line('batch latency, repeats', repeatRuns.latencies),
      `  ${repeatRuns.cpu}`,
      `  stored: ${n(stored)} records (expected ${n(expected)}: ${stored === expected ? 'OK' : 'FAILED'}); api peak RSS ${mib(apiRss)}`,
    );
    if (stored !== expected) process.exitCode = 1;
  } finally {
    // The add-on is the vendor's here (nothing of it outside the database): stopping the processes and dropping the database is all.
    await attache.stop('postgres_databases', 'nothing to remove');
    await attache.dispose();
    vendor.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const cpu = cpus();
  const out: string[] = [
    `machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? '?'}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, node ${process.version}`,
  ];
  const print = () => process.stdout.write(`${out.splice(0).join('\n')}\n`);
  print();
  if (!SKIP_INVOICES) {
    await invoices(out);
    print();
  }
  if (!SKIP_INGEST) {
    await ingestion(out);
    print();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
