/**
 * Dedicated PostgreSQL: how long Attache takes to provision, fork, follow and roll back a
 * standard-0 add-on, each next to the raw PostgreSQL operation it wraps, on a source database of
 * `--size-mb` (default 1024). Starts Attache's api and worker as real processes on a private
 * database and queue prefix, with the clusters under a scratch directory, then:
 *
 *   - provisioning: POST {plan: postgresql:standard-0} until `provisioned` (initdb, start, the
 *     tenant, the first base backup), `--n` times, against initdb + pg_ctl start of a bare cluster;
 *   - fork: POST {config: {fork}} of the loaded source until `provisioned`, against pg_basebackup
 *     of the source into a scratch directory;
 *   - follower catch-up: POST {config: {follow}} until the follower's lag is 0 bytes, against
 *     pg_basebackup -R, start and the replica's replay reaching the primary's WAL position;
 *   - rollback: POST {config: {rollback, to}} to a moment after the load until `provisioned`,
 *     against the recovery it runs (the same base backup copied, the source's archived WAL
 *     replayed to the same moment, promotion).
 *
 * Attache's figures include the new cluster's first base backup (fork, rollback) because an
 * add-on is only handed over once its rollback window has begun.
 *
 *   npm run build && node bin/run.js bench-postgres-dedicated [--size-mb 1024] [--n 3]
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { BenchAttache } from './bench-attache';
import { arg, freePort, stats, waitFor } from './bench-processes';

const SIZE_MB = Number(arg('size-mb', '1024'));
const N = Number(arg('n', '3'));
const PLAN = 'postgresql:standard-0';
const PG_BIN = '/usr/lib/postgresql/15/bin';
const AS_ROOT = process.getuid?.() === 0;

const pgUser = AS_ROOT ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) } : null;
/** A PostgreSQL tool as the postgres OS user (or ourselves when not root), from `/`. */
function pg(tool: string, args: string[]): void {
  const bin = tool.startsWith('/') ? tool : join(PG_BIN, tool);
  const [command, argv] = AS_ROOT ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  execFileSync(command, argv, { cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
}
const givePg = (path: string) => pgUser && chownSync(path, pgUser.uid, pgUser.gid);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2).padStart(7)} s`;
const time = async (work: () => Promise<unknown> | unknown) => {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A scratch cluster directory the postgres user owns. */
function scratch(scratchRoot: string, name: string): string {
  const dir = join(scratchRoot, name);
  mkdirSync(dir, { mode: 0o700 });
  givePg(dir);
  return dir;
}

function writeConf(data: string, port: number, socket: string, extra: string[] = []): void {
  const file = join(data, 'bench.conf');
  writeFileSync(file, [`port = ${port}`, "listen_addresses = ''", `unix_socket_directories = '${socket}'`, 'archive_mode = off', ...extra, ''].join('\n'));
  givePg(file);
  const conf = join(data, 'postgresql.conf');
  execFileSync('sh', ['-c', `echo "include 'bench.conf'" >> '${conf}'`]);
}

async function socketQuery<T>(socket: string, port: number, sql: string): Promise<T> {
  const client = new Client({ host: socket, port, user: 'postgres', database: 'postgres' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql)).rows[0] as T;
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const clustersDir = mkdtempSync(join(tmpdir(), 'attache-bench-pgd-'));
  const scratchRoot = mkdtempSync(join(tmpdir(), 'attache-bench-pgd-raw-'));
  for (const dir of [clustersDir, scratchRoot]) execFileSync('chmod', ['0755', dir]);
  // Below the kernel's ephemeral ports (32768+), which outgoing connections take.
  const portMin = 31_000 + Math.floor(Math.random() * 35) * 50;
  const bench = await BenchAttache.open({
    backupDir: mkdtempSync(join(tmpdir(), 'attache-bench-backups-')),
    env: { ATTACHE_PG_DEDICATED_DIR: clustersDir, ATTACHE_PG_DEDICATED_PORTS: `${portMin}-${portMin + 49}`, PROVIDER_MAX_ATTEMPTS: '1' },
  });
  const created: string[] = [];
  try {
    await bench.start(['postgres:hosts:add-local']);
    const app = await bench.createApp();

    const create = async (config: Record<string, string> | null, as: string): Promise<{ id: string; ms: number }> => {
      const t0 = performance.now();
      const response = await bench.fetch(`/apps/${app}/addons`, { method: 'POST', body: JSON.stringify({ plan: PLAN, attachment: { name: as }, ...(config ? { config } : {}) }) });
      const body = (await response.json()) as { id: string; message?: string };
      if (response.status !== 201) throw new Error(`create failed: ${response.status} ${JSON.stringify(body)}`);
      created.push(body.id);
      let last = '';
      await waitFor(
        async () => {
          const addon = (await (await bench.fetch(`/addons/${body.id}`)).json()) as { state: string; provision_message: string | null };
          last = `${addon.state} ${addon.provision_message ?? ''}`;
          if (addon.state === 'deprovisioned') throw new Error(`provisioning failed: ${last}`);
          return addon.state === 'provisioned';
        },
        60 * 60_000,
        `${as} provisioned (last: ${last})`,
      );
      return { id: body.id, ms: performance.now() - t0 };
    };
    const urlOf = async (as: string) => ((await (await bench.fetch(`/apps/${app}/config-vars`)).json()) as Record<string, string>)[`${as}_URL`];
    const keyOf = (id: string) => `pg-${id.replace(/-/g, '')}`;

    // --- provisioning --------------------------------------------------------------------------
    const rawInit: number[] = [];
    const attacheInit: number[] = [];
    for (let i = 0; i < N; i++) {
      const dir = scratch(scratchRoot, `init-${i}`);
      const port = await freePort();
      rawInit.push(
        await time(() => {
          pg('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '--auth-local=trust']);
          writeConf(join(dir, 'data'), port, dir);
          pg('pg_ctl', ['-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', 'start']);
        }),
      );
      pg('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
      rmSync(dir, { recursive: true, force: true });
      attacheInit.push((await create(null, i === 0 ? 'SOURCE' : `EMPTY${i}`)).ms);
    }
    const sourceId = created[0];
    const sourceKey = keyOf(sourceId);
    const sourceDir = join(clustersDir, sourceKey);
    const sourceUrl = await urlOf('SOURCE');
    const sourcePort = Number(new URL(sourceUrl).port);

    // --- load -------------------------------------------------------------------------------------
    const tenant = new Client({ connectionString: sourceUrl });
    // Ended by the source's removal should the run fail.
    tenant.on('error', () => undefined);
    await tenant.connect();
    await tenant.query('CREATE TABLE big (id bigint PRIMARY KEY, pad text NOT NULL)');
    const rows = SIZE_MB * 1024;
    const chunk = 100_000;
    const loadMs = await time(async () => {
      for (let from = 1; from <= rows; from += chunk) {
        await tenant.query("INSERT INTO big SELECT g, repeat(md5(g::text), 28) FROM generate_series($1::bigint, $2::bigint) g", [from, Math.min(rows, from + chunk - 1)]);
      }
    });
    const size = Number((await tenant.query<{ size: string }>('SELECT pg_database_size(current_database()) AS size')).rows[0].size);
    await sleep(1_100);
    const target = new Date();
    await sleep(1_100);
    await tenant.query('DELETE FROM big WHERE id <= 10');

    // --- fork --------------------------------------------------------------------------------------
    const rawBaseBackupDir = scratch(scratchRoot, 'basebackup');
    const rawFork = await time(() => pg('pg_basebackup', ['-D', join(rawBaseBackupDir, 'data'), '-h', join(sourceDir, 'socket'), '-p', String(sourcePort), '-U', 'postgres', '-X', 'stream', '-c', 'fast']));
    rmSync(rawBaseBackupDir, { recursive: true, force: true });
    const fork = await create({ fork: 'SOURCE_URL' }, 'FORK');

    // --- follower catch-up ------------------------------------------------------------------------
    const rawFollowerDir = scratch(scratchRoot, 'follower');
    const followerPort = await freePort();
    const rawFollow = await time(async () => {
      const data = join(rawFollowerDir, 'data');
      pg('pg_basebackup', ['-D', data, '-h', join(sourceDir, 'socket'), '-p', String(sourcePort), '-U', 'postgres', '-X', 'stream', '-c', 'fast', '-R']);
      writeConf(data, followerPort, rawFollowerDir, ['hot_standby = on']);
      pg('pg_ctl', ['-D', data, '-l', join(rawFollowerDir, 'log'), '-w', 'start']);
      const primary = await socketQuery<{ lsn: string }>(join(sourceDir, 'socket'), sourcePort, 'SELECT pg_current_wal_lsn()::text AS lsn');
      await waitFor(
        async () => {
          const { behind } = await socketQuery<{ behind: string }>(rawFollowerDir, followerPort, `SELECT pg_wal_lsn_diff('${primary.lsn}', pg_last_wal_replay_lsn()) AS behind`);
          return Number(behind) <= 0;
        },
        60 * 60_000,
        'the raw follower caught up',
      );
    });
    pg('pg_ctl', ['-D', join(rawFollowerDir, 'data'), '-m', 'immediate', 'stop']);
    rmSync(rawFollowerDir, { recursive: true, force: true });
    const followT0 = performance.now();
    const follower = await create({ follow: 'SOURCE' }, 'FOLLOWER');
    await waitFor(
      async () => {
        const info = (await (await bench.fetch(`/addons/${follower.id}/postgres/cluster`)).json()) as { following?: { lag: { bytes: number } | null } };
        return info.following?.lag?.bytes === 0;
      },
      60 * 60_000,
      'the follower caught up',
    );
    const followMs = performance.now() - followT0;

    // --- rollback ----------------------------------------------------------------------------------
    const rawRecoveryDir = scratch(scratchRoot, 'recovery');
    const recoveryPort = await freePort();
    const base = readdirSync(join(sourceDir, 'archive', 'base')).filter((n) => !n.endsWith('.tmp')).sort()[0];
    const rawRollback = await time(async () => {
      const data = join(rawRecoveryDir, 'data');
      pg('/bin/cp', ['-a', join(sourceDir, 'archive', 'base', base), data]);
      writeFileSync(join(data, 'recovery.signal'), '');
      givePg(join(data, 'recovery.signal'));
      writeConf(data, recoveryPort, rawRecoveryDir, [
        `restore_command = 'cp "${join(sourceDir, 'archive', 'wal')}/%f" "%p"'`,
        `recovery_target_time = '${target.toISOString().replace('T', ' ').replace('Z', '+00')}'`,
        "recovery_target_action = 'promote'",
      ]);
      pg('pg_ctl', ['-D', data, '-l', join(rawRecoveryDir, 'log'), '-w', '-t', '3600', 'start']);
      await waitFor(async () => !(await socketQuery<{ r: boolean }>(rawRecoveryDir, recoveryPort, 'SELECT pg_is_in_recovery() AS r')).r, 60 * 60_000, 'the raw recovery');
    });
    pg('pg_ctl', ['-D', join(rawRecoveryDir, 'data'), '-m', 'immediate', 'stop']);
    rmSync(rawRecoveryDir, { recursive: true, force: true });
    const rollback = await create({ rollback: 'SOURCE_URL', to: target.toISOString() }, 'ROLLBACK');
    const check = new Client({ connectionString: await urlOf('ROLLBACK') });
    check.on('error', () => undefined);
    await check.connect();
    const restored = Number((await check.query<{ n: string }>('SELECT count(*) AS n FROM big WHERE id <= 10')).rows[0].n);
    await check.end();
    await tenant.end();
    if (restored !== 10) throw new Error(`the rollback has ${restored} of the 10 rows deleted after the target`);

    const ratio = (attache: number, raw: number) => `${(attache / raw).toFixed(2)}×`;
    const init = stats(attacheInit).p50;
    const rawInitP50 = stats(rawInit).p50;
    const lines = [
      `Dedicated PostgreSQL, source database ${(size / 1024 ** 2).toFixed(0)} MB (loaded in ${seconds(loadMs).trim()}); ${N} provisions`,
      `  ${'operation'.padEnd(22)} ${'Attache'.padStart(9)}   ${'raw PostgreSQL'.padEnd(44)} ratio`,
      `  ${'provisioning (p50)'.padEnd(22)} ${seconds(init)}   ${`initdb + pg_ctl start  ${seconds(rawInitP50)}`.padEnd(44)} ${ratio(init, rawInitP50)}`,
      `  ${'fork'.padEnd(22)} ${seconds(fork.ms)}   ${`pg_basebackup          ${seconds(rawFork)}`.padEnd(44)} ${ratio(fork.ms, rawFork)}`,
      `  ${'follower catch-up'.padEnd(22)} ${seconds(followMs)}   ${`pg_basebackup -R + replay ${seconds(rawFollow)}`.padEnd(44)} ${ratio(followMs, rawFollow)}`,
      `  ${'rollback'.padEnd(22)} ${seconds(rollback.ms)}   ${`copy + recovery + promote ${seconds(rawRollback)}`.padEnd(44)} ${ratio(rollback.ms, rawRollback)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const id of created) await bench.fetch(`/addons/${id}`, { method: 'DELETE' }).then((r) => r.arrayBuffer()).catch(() => undefined);
    await waitFor(async () => created.length === 0 || Number((await bench.db.query("SELECT count(*) AS n FROM postgres_dedicated_clusters WHERE state = 'active'")).rows[0].n) === 0, 300_000, 'the add-ons deprovisioned').catch(
      (error: Error) => process.stderr.write(`destroying the add-ons: ${error.message}; stop the postmasters under ${clustersDir} by hand\n`),
    );
    await bench.stop('postgres_databases', '');
    await bench.dispose();
    for (const dir of existsSync(scratchRoot) ? readdirSync(scratchRoot) : []) {
      try {
        pg('pg_ctl', ['-D', join(scratchRoot, dir, 'data'), '-m', 'immediate', 'stop']);
      } catch {
        // not running
      }
    }
    rmSync(scratchRoot, { recursive: true, force: true });
    rmSync(clustersDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
