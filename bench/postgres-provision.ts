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
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, escapeIdentifier as ident, escapeLiteral as literal } from 'pg';
import { localPostgresClusters } from '@app/config';
import { BackendConnection, TenantNames, tenantNames } from '@app/domain';
import { jobIds } from '@app/queues';
// The adapter itself, not its module: the baseline must send exactly the statements the worker sends.
import { PgClusterAdmin } from '../libs/provisioners/src/postgres/pg-cluster-admin';
import { BenchAttache } from './bench-attache';
import { addParts, arg, line, stats } from './bench-processes';

const N = Number(arg('n', '50'));
const WARMUP = Number(arg('warmup', '5'));
const OBSERVE = arg('observe', 'listen');
const POLL_MS = Number(arg('poll-ms', '3'));
/** Idle time before each round: past 10 s, every pool involved has closed its idle connections, as between real provisions. */
const GAP_MS = Number(arg('gap-ms', '0'));
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
  ['→ job queued', "the api's transaction up to the add-on's insert, then the enqueue (the rest of the transaction runs meanwhile)"],
  ['→ job active', 'queue pickup by the worker'],
  ['→ final tx begun', "the job's read (once the api's transaction committed), the placement found (or made), createTenant started"],
  ['→ provisioned seen', 'createTenant (config vars and release written meanwhile), events, commit, notification'],
] as const;
const TENANT_PART = 4;

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
  const backupDir = mkdtempSync(join(tmpdir(), 'attache-bench-backups-'));
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
  const attache = await BenchAttache.open({ backupDir });
  try {
    for (const session of sessions) await session.connect();
    await attache.start(['postgres:backends:add-local']);
    const { db } = attache;
    const registered = new Set((await db.query<{ name: string }>('SELECT name FROM postgres_backends')).rows.map((r) => r.name));
    if (backends.some((b) => !registered.has(b.name))) throw new Error('postgres:backends:add-local did not register every local cluster');

    const listened = OBSERVE === 'listen' ? await attache.listenProvisioned() : undefined;
    /** When the add-on was first seen provisioned (performance.now()). */
    const provisioned = async (id: string): Promise<number> => {
      if (listened) return listened(id);
      const deadline = performance.now() + 60_000;
      while (performance.now() < deadline) {
        const response = await attache.fetch(`/addons/${id}`);
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
    for (let i = 0; i < N + WARMUP; i++) apps.push(await attache.createApp());
    // The worker hardens each cluster once per process; so does this one, untimed.
    for (const backend of backends) await clusterAdmin.harden(backend);

    const raw: number[] = [];
    const minimal: number[] = [];
    const endToEnd: number[] = [];
    const post: number[] = [];
    /** Each round's end to end less its raw createTenant: what Attache adds, under the round's conditions. */
    const overhead: number[] = [];
    const measured = new Map<string, { wall0: number; total: number; post: number; cluster: string }>();
    for (let i = 0; i < WARMUP + N; i++) {
      const counted = i >= WARMUP;
      if (GAP_MS > 0) await new Promise((r) => setTimeout(r, GAP_MS));
      const c = i % backends.length;
      const backend = backends[c];

      const measureRaw = async () => {
        const rawNames = tenantNames(randomUUID());
        made[c].push(rawNames);
        const t0 = performance.now();
        await clusterAdmin.createTenant(backend, { ...rawNames, ownerPassword: randomBytes(24).toString('base64url'), connectionLimit: 20 });
        if (counted) raw.push(performance.now() - t0);
      };
      const measureMinimal = async () => {
        const minimalNames = tenantNames(randomUUID());
        made[c].push(minimalNames);
        const t0 = performance.now();
        await minimalTenant(sessions[c], backend, minimalNames);
        if (counted) minimal.push(performance.now() - t0);
      };
      const measureEndToEnd = async () => {
        const run = await attache.createAddon(apps[i], PLAN, (id) => {
          made[c].push(tenantNames(id));
          return provisioned(id);
        });
        if (!counted) return;
        endToEnd.push(run.total);
        post.push(run.post);
        measured.set(run.id, { wall0: run.wall0, total: run.total, post: run.post, cluster: backend.name });
      };
      // Each kind goes first, second and last in turn: the cluster's work left over from the one
      // before (a CREATE DATABASE's writes being flushed) falls on all three alike.
      const kinds = [measureRaw, measureMinimal, measureEndToEnd];
      for (let k = 0; k < kinds.length; k++) await kinds[(i + k) % kinds.length]();
      if (counted) overhead.push(endToEnd[endToEnd.length - 1] - raw[raw.length - 1]);
    }

    const queued = await attache.queueMarks();
    const parts: number[][] = PARTS.map(() => []);
    /** Add-ons whose database was placed by the transaction that created them (the others by the provision). */
    let placedWithAddon = 0;
    for (const [id, { wall0, total, post: answered, cluster }] of measured) {
      const { rows } = await db.query<{ created: Date; placed: Date; finished: Date; backend: string }>(
        `SELECT a.created_at AS created, d.created_at AS placed, a.provisioned_at AS finished, b.name AS backend
           FROM addons a JOIN postgres_databases d ON d.addon_id = a.id JOIN postgres_backends b ON b.id = d.backend_id
          WHERE a.id = $1`,
        [id],
      );
      if (rows[0].backend !== cluster) throw new Error(`add-on placed on ${rows[0].backend}, not ${cluster}: the comparison would not be on the same cluster`);
      const { added, active } = queued.get(jobIds.provision(id)) ?? {};
      if (added === undefined || active === undefined) throw new Error(`no queue events for ${id}`);
      // The api answers once its transaction committed; the worker places a database only after that.
      if (rows[0].placed.getTime() <= wall0 + answered) placedWithAddon++;
      const marks = [rows[0].created.getTime(), added, active, rows[0].finished.getTime()].map((at) => at - wall0);
      marks.push(total);
      addParts(parts, marks);
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
        line('  less raw, round by round', overhead),
        `  ratio end to end / raw createTenant at p50: ${ratio.toFixed(2)} (target ≤ ${TARGET}: ${ratio <= TARGET ? 'met' : 'NOT met'})`,
        `  databases placed with their add-on (in the api's transaction): ${placedWithAddon} of ${measured.size}`,
        `  end to end by part, p50 / p90 ms (marks in whole ms):`,
        ...PARTS.map(([label, what], k) => {
          const s = stats(parts[k]);
          return `    ${label.padEnd(22)} ${s.p50.toFixed(0).padStart(4)} / ${s.p90.toFixed(0).padStart(4)}   ${what}`;
        }),
        `    p50s of the parts other than the tenant's, summed: ${outside.toFixed(0)} ms`,
      ].join('\n') + '\n',
    );
  } finally {
    // The add-ons as a user would destroy them, then the worker drops their tenants.
    await attache.stop('postgres_databases', 'dropping their tenants directly');
    // What is left (the baselines' tenants, and any add-on the worker did not get to) goes here.
    const addonDatabases = new Set(attache.addonIds.map((id) => tenantNames(id).database));
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
    await attache.dispose();
    rmSync(backupDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
