/**
 * Essential-database provisioning latency against the SQL underneath it. Starts Attache's api and
 * worker as real processes on a private database and queue prefix, registers this machine's
 * shared clusters (scripts/postgres-clusters.sh), then, one at a time:
 *
 *   - raw:        PgClusterAdmin.createTenant for a fresh tenant, called from this process on a
 *                 warm pool to the same cluster (the SQL a provision runs, nothing around it);
 *   - minimal:    a hand-written sequence with the same effect on one kept-open connection
 *                 (plus the connection to the new database that its schema grant needs);
 *   - end to end: POST /apps/{app}/addons {plan: postgresql:essential-0} until the add-on is
 *                 first seen `provisioned`.
 *
 * The three are interleaved, each iteration on one cluster (alternating, as placement does), so
 * drift in the machine's speed hits them alike. Prints p50/p90/max of each, the p50 ratio of end
 * to end over raw, and where the end-to-end time went.
 *
 *   npm run build && node bin/run.js bench-postgres-provision [--n 50] [--warmup 5] [--observe listen|poll] [--poll-ms 3] [--gap-ms 0]
 *
 * `--observe listen` (default) is told of the commit by a trigger on the private database's
 * `addons` table (NOTIFY is delivered at commit, the moment a GET would first see the state), so
 * nothing polls the processes measured; `--observe poll` GETs /addons/{id} every `--poll-ms`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client, escapeIdentifier as ident, escapeLiteral as literal } from 'pg';
import { localPostgresClusters } from '@app/config';
import { BackendConnection, TenantNames, tenantNames } from '@app/domain';
import { QUEUES, jobIds } from '@app/queues';
// The adapter itself, not its module: the baseline must send exactly the statements the worker sends.
import { PgClusterAdmin } from '../libs/provisioners/src/postgres/pg-cluster-admin';
import { freePort, percentile, root, start, stopAll, waitFor } from './bench-processes';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const N = Number(arg('n', '50'));
const WARMUP = Number(arg('warmup', '5'));
const OBSERVE = arg('observe', 'listen');
const POLL_MS = Number(arg('poll-ms', '3'));
/** Idle time before each round: past 10 s, every pool involved has closed its idle connections, as between real provisions. */
const GAP_MS = Number(arg('gap-ms', '0'));
const PG = process.env.ATTACHE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const PLAN = 'postgresql:essential-0';
const TARGET = 1.25;
if (!['listen', 'poll'].includes(OBSERVE)) throw new Error('--observe must be listen or poll');

/**
 * Where one end-to-end provision's time went, between marks taken from the add-on's rows (the
 * api's and worker's clocks, on this machine, whole ms) and from the `added` and `active` entries
 * BullMQ writes to the queue's event stream (Redis's clock, whole ms).
 */
const PARTS = [
  ['request → add-on row', 'HTTP, auth, access check, catalog and region reads in the api'],
  ['→ job queued', "the api's transaction, then the enqueue"],
  ['→ job active', 'queue pickup by the worker'],
  ['→ cluster chosen', "the job's read, then the placement transaction up to its choice (lock, count)"],
  ['→ tenant made', 'placement rows and commit, backend re-read, createTenant'],
  ['→ provisioned seen', 'config vars, release, events, commit, notification'],
] as const;
const TENANT_PART = 4;

function stats(values: number[]): { p50: number; p90: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), max: sorted[sorted.length - 1] };
}
const ms = (value: number) => `${value.toFixed(1).padStart(6)} ms`;
function line(label: string, values: number[]): string {
  const s = stats(values);
  return `  ${label.padEnd(28)} p50 ${ms(s.p50)}   p90 ${ms(s.p90)}   max ${ms(s.max)}`;
}

/**
 * The same tenant as createTenant, written out by hand in four round trips and a connection: the
 * roles, CREATE DATABASE (which cannot share a transaction), the database's grants, and the
 * schema's owner and grants, which need a connection to the new database. No existence checks;
 * the server hashes the password (scram), where createTenant sends a verifier it computed.
 */
async function minimalTenant(session: Client, backend: BackendConnection, names: TenantNames): Promise<void> {
  const [g, u, d] = [ident(names.groupRole), ident(names.ownerRole), ident(names.database)];
  await session.query(
    `CREATE ROLE ${g} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
     CREATE ROLE ${u} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD ${literal(randomBytes(24).toString('base64url'))};
     ALTER ROLE ${u} SET idle_in_transaction_session_timeout = '5min';
     ALTER ROLE ${u} SET temp_file_limit = '1GB';
     GRANT ${g} TO ${u}`,
  );
  await session.query(`CREATE DATABASE ${d} OWNER ${ident(backend.user)} CONNECTION LIMIT 20`);
  await session.query(`REVOKE ALL ON DATABASE ${d} FROM PUBLIC; GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${d} TO ${g}`);
  const inside = new Client({ host: backend.host, port: backend.port, user: backend.user, password: backend.password, database: names.database });
  await inside.connect();
  try {
    await inside.query(`ALTER SCHEMA public OWNER TO ${g}; REVOKE ALL ON SCHEMA public FROM PUBLIC`);
  } finally {
    await inside.end();
  }
}

async function main(): Promise<void> {
  const database = `attache_bench_${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const backupDir = mkdtempSync(join(tmpdir(), 'attache-bench-backups-'));
  const env = {
    ...process.env,
    NODE_ENV: 'development',
    DATABASE_URL: `${PG}/${database}${process.env.ATTACHE_BENCH_PG_QUERY ?? ''}`,
    ATTACHE_QUEUE_PREFIX: `attache-bench-${randomBytes(3).toString('hex')}`,
    ATTACHE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    ATTACHE_BACKUP_DIR: backupDir,
    PORT: String(port),
    WORKER_PORT: String(await freePort()),
    ATTACHE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_HOUR: '100000000',
  };
  const cli = (...args: string[]) => execFileSync(process.execPath, [join(root, 'bin', 'attache.js'), ...args], { env, encoding: 'utf8' });
  const backends: BackendConnection[] = localPostgresClusters().map((c) => ({
    id: c.name,
    name: c.name,
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password,
    maintenanceDatabase: 'postgres',
  }));
  const clusterAdmin = new PgClusterAdmin();
  const sessions = backends.map((b) => new Client({ host: b.host, port: b.port, user: b.user, password: b.password, database: 'postgres' }));
  /** Every tenant this run made (raw, minimal, and the add-ons'), by cluster: none may outlive it. */
  const made = backends.map(() => [] as TenantNames[]);
  const addonIds: string[] = [];
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const admin = new Client({ connectionString: `${PG}/postgres` });
  await admin.connect();
  let db: Client | undefined;
  let api: { base: string; headers: Record<string, string> } | undefined;
  try {
    for (const session of sessions) await session.connect();
    cli('db:migrate');
    cli('catalog:seed');
    cli('postgres:backends:add-local');
    const key = cli('accounts:create', `bench-${randomBytes(3).toString('hex')}@example.test`).trim().split('\n').pop()!;
    start('api', env);
    start('worker', env);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/health`)).ok, 30_000, 'api and worker');
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', Accept: 'application/vnd.heroku+json; version=3' };
    api = { base, headers };

    db = new Client({ connectionString: env.DATABASE_URL });
    // After a failed run the database is dropped under this connection; that is no news.
    db.on('error', () => undefined);
    await db.connect();
    const registered = new Set((await db.query<{ name: string }>('SELECT name FROM postgres_backends')).rows.map((r) => r.name));
    if (backends.some((b) => !registered.has(b.name))) throw new Error('postgres:backends:add-local did not register every local cluster');

    const seen = new Map<string, number>();
    const waiters = new Map<string, (at: number) => void>();
    if (OBSERVE === 'listen') {
      // Bench-only, on the private database: told of the commit without polling the processes measured.
      await db.query(`CREATE FUNCTION bench_provisioned() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.state = 'provisioned' AND OLD.state IS DISTINCT FROM 'provisioned' THEN PERFORM pg_notify('bench_provisioned', NEW.id::text); END IF;
          RETURN NEW;
        END $$`);
      await db.query('CREATE TRIGGER bench_provisioned AFTER UPDATE OF state ON addons FOR EACH ROW EXECUTE FUNCTION bench_provisioned()');
      db.on('notification', (message) => {
        const at = performance.now();
        const id = message.payload!;
        seen.set(id, at);
        waiters.get(id)?.(at);
      });
      await db.query('LISTEN bench_provisioned');
    }
    /** When the add-on was first seen provisioned (performance.now()). */
    const provisioned = async (id: string): Promise<number> => {
      if (OBSERVE === 'listen') {
        const at = seen.get(id);
        if (at !== undefined) return at;
        return new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`add-on ${id} not provisioned after 60 s`)), 60_000);
          waiters.set(id, (when) => {
            clearTimeout(timer);
            waiters.delete(id);
            resolve(when);
          });
        });
      }
      const deadline = performance.now() + 60_000;
      while (performance.now() < deadline) {
        const response = await fetch(`${base}/addons/${id}`, { headers });
        const at = performance.now();
        const { state } = (await response.json()) as { state: string };
        if (state === 'provisioned') return at;
        if (state !== 'provisioning') throw new Error(`add-on ${id} ended ${state}`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      throw new Error(`add-on ${id} not provisioned after 60 s`);
    };

    // One app per database, as most apps have (an app's vars and releases would grow otherwise).
    const apps: string[] = [];
    for (let i = 0; i < N + WARMUP; i++) {
      const app = await fetch(`${base}/apps`, { method: 'POST', headers, body: '{}' });
      if (!app.ok) throw new Error(`app create failed: ${app.status} ${await app.text()}`);
      apps.push(((await app.json()) as { name: string }).name);
    }
    // The worker hardens each cluster once per process; so does this one, untimed.
    for (const backend of backends) await clusterAdmin.harden(backend);

    const raw: number[] = [];
    const minimal: number[] = [];
    const endToEnd: number[] = [];
    const post: number[] = [];
    const measured = new Map<string, { wall0: number; total: number; cluster: string }>();
    for (let i = 0; i < WARMUP + N; i++) {
      const counted = i >= WARMUP;
      if (GAP_MS > 0) await new Promise((r) => setTimeout(r, GAP_MS));
      const c = i % backends.length;
      const backend = backends[c];

      const rawNames = tenantNames(randomUUID());
      made[c].push(rawNames);
      let t0 = performance.now();
      await clusterAdmin.createTenant(backend, { ...rawNames, ownerPassword: randomBytes(24).toString('base64url'), connectionLimit: 20 });
      if (counted) raw.push(performance.now() - t0);

      const minimalNames = tenantNames(randomUUID());
      made[c].push(minimalNames);
      t0 = performance.now();
      await minimalTenant(sessions[c], backend, minimalNames);
      if (counted) minimal.push(performance.now() - t0);

      const wall0 = Date.now();
      t0 = performance.now();
      const response = await fetch(`${base}/apps/${apps[i]}/addons`, { method: 'POST', headers, body: JSON.stringify({ plan: PLAN }) });
      const answered = performance.now();
      const body = (await response.json()) as { id: string };
      if (response.status !== 201) throw new Error(`create failed: ${response.status} ${JSON.stringify(body)}`);
      addonIds.push(body.id);
      made[c].push(tenantNames(body.id));
      const done = await provisioned(body.id);
      if (!counted) continue;
      endToEnd.push(done - t0);
      post.push(answered - t0);
      measured.set(body.id, { wall0, total: done - t0, cluster: backend.name });
    }

    // The marks, read once the runs are over so that reading them costs the runs nothing.
    const queued = new Map<string, { added?: number; active?: number }>();
    for (const [streamId, fields] of await redis.xrange(`${env.ATTACHE_QUEUE_PREFIX}:${QUEUES.provision}:events`, '-', '+')) {
      const field = (name: string) => fields[fields.indexOf(name) + 1];
      const at = Number(streamId.split('-')[0]);
      const entry = queued.get(field('jobId')) ?? {};
      if (field('event') === 'added') entry.added ??= at;
      if (field('event') === 'active') entry.active ??= at;
      queued.set(field('jobId'), entry);
    }
    const parts: number[][] = PARTS.map(() => []);
    for (const [id, { wall0, total, cluster }] of measured) {
      const { rows } = await db.query<{ created: Date; placed: Date; finished: Date; backend: string }>(
        `SELECT a.created_at AS created, d.created_at AS placed, a.provisioned_at AS finished, b.name AS backend
           FROM addons a JOIN postgres_databases d ON d.addon_id = a.id JOIN postgres_backends b ON b.id = d.backend_id
          WHERE a.id = $1`,
        [id],
      );
      if (rows[0].backend !== cluster) throw new Error(`add-on placed on ${rows[0].backend}, not ${cluster}: the comparison would not be on the same cluster`);
      const { added, active } = queued.get(jobIds.provision(id)) ?? {};
      if (added === undefined || active === undefined) throw new Error(`no queue events for ${id}`);
      const marks = [rows[0].created.getTime(), added, active, rows[0].placed.getTime(), rows[0].finished.getTime()].map((at) => at - wall0);
      marks.push(total);
      marks.forEach((mark, k) => parts[k].push(mark - (k === 0 ? 0 : marks[k - 1])));
    }

    const ratio = stats(endToEnd).p50 / stats(raw).p50;
    const outside = PARTS.reduce((sum, _, k) => sum + (k === TENANT_PART ? 0 : stats(parts[k]).p50), 0);
    process.stdout.write(
      [
        `postgres provisioning: ${N} essential-0 databases one at a time on ${backends.map((b) => `${b.name}:${b.port}`).join(' and ')}, after ${WARMUP} warm-up rounds${GAP_MS > 0 ? `, ${GAP_MS} ms apart` : ''}; provisioned seen by ${OBSERVE === 'listen' ? 'LISTEN' : `GET every ${POLL_MS} ms`}`,
        line('raw createTenant', raw),
        line('minimal hand-written SQL', minimal),
        line('end to end (API → seen)', endToEnd),
        line('  of which POST until 201', post),
        `  ratio end to end / raw createTenant at p50: ${ratio.toFixed(2)} (target ≤ ${TARGET}: ${ratio <= TARGET ? 'met' : 'NOT met'})`,
        `  end to end by part, p50 / p90 ms (marks in whole ms):`,
        ...PARTS.map(([label, what], k) => {
          const s = stats(parts[k]);
          return `    ${label.padEnd(22)} ${s.p50.toFixed(0).padStart(4)} / ${s.p90.toFixed(0).padStart(4)}   ${what}`;
        }),
        `    p50s of the parts other than the tenant's, summed: ${outside.toFixed(0)} ms`,
      ].join('\n') + '\n',
    );
  } finally {
    // Destroy the add-ons as a user would, and wait for the worker to drop their tenants.
    if (api && db && addonIds.length > 0) {
      const { base, headers } = api;
      const probe = db;
      try {
        for (const id of addonIds) await fetch(`${base}/addons/${id}`, { method: 'DELETE', headers }).then((res) => res.arrayBuffer());
        await waitFor(
          async () => Number((await probe.query(`SELECT count(*) AS n FROM postgres_databases WHERE state = 'active'`)).rows[0].n) === 0,
          120_000,
          'the add-ons deprovisioned',
        );
      } catch (error) {
        process.stderr.write(`destroying the add-ons: ${(error as Error).message}; dropping their tenants directly\n`);
      }
    }
    await stopAll();
    await db?.end().catch(() => undefined);
    // What is left (the baselines' tenants, and any add-on the worker did not get to) goes here.
    const addonDatabases = new Set(addonIds.map((id) => tenantNames(id).database));
    for (const [c, tenants] of made.entries()) {
      const present = async () =>
        (await sessions[c].query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [tenants.map((t) => t.database)])).rows.map(
          (r) => r.datname,
        );
      const stragglers = (await present().catch(() => [])).filter((name) => addonDatabases.has(name));
      if (stragglers.length > 0) process.stderr.write(`${stragglers.length} add-on databases outlived their deprovisioning on ${backends[c].name}; dropping them\n`);
      for (const t of tenants) {
        await clusterAdmin.dropTenant(backends[c], t.database, [t.ownerRole, t.groupRole]).catch((error: Error) => {
          process.stderr.write(`could not drop ${t.database} on ${backends[c].name}: ${error.message}\n`);
        });
      }
      const left = await present().catch(() => ['(could not check)']);
      if (left.length > 0) process.stderr.write(`left on ${backends[c].name}: ${left.join(', ')}\n`);
    }
    await clusterAdmin.onModuleDestroy();
    for (const session of sessions) await session.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    rmSync(backupDir, { recursive: true, force: true });
    // The run's queues, schedulers and rate-limit counters.
    for await (const keys of redis.scanStream({ match: `${env.ATTACHE_QUEUE_PREFIX}:*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
