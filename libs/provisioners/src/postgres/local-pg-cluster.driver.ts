import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Injectable, Logger } from '@nestjs/common';
import { Client, escapeIdentifier as ident, escapeLiteral as literal } from 'pg';
import {
  PgArchiveKeep,
  PgBaseBackup,
  PgClusterAccess,
  PgClusterDriver,
  PgClusterOrigin,
  PgClusterSpec,
  PgClusterStatus,
  PgDedicatedOptions,
  PgReplicationLag,
} from '@app/domain';
import { pgScramVerifier } from './pg-scram-verifier';
import { MachineLocks, clusterLockName } from './machine-lock';
import { writeFileDurably } from './durable-files';

const execFileAsync = promisify(execFile);

const PG_BIN = '/usr/lib/postgresql/15/bin';
const LOOPBACK = '127.0.0.1';
const START_TIMEOUT_S = 120;
/** Recovery of a rollback replays WAL; a long window can take a while. */
const RECOVERY_WAIT_MS = 30 * 60_000;
/** The archiver may be working through a backlog (a bulk load's WAL) before it reaches the switched segment. */
const ARCHIVE_WAIT_MS = 15 * 60_000;
const STOP_TIMEOUT_S = 30;
const POLL_MS = 100;
const COMMAND_TIMEOUT_MS = 60 * 60_000;
/** Self-signed certificates of new TLS clusters last ten years; a CA-signed pair replaces them in place. */
const CERT_DAYS = 3650;
/** pg_auto_failover's own roles, which a copy of a premium node brings along: never let in over TCP here. */
const FAILOVER_ROLES = 'pgautofailover_replicator,pgautofailover_monitor,autoctl_node';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

interface ClusterPaths {
  dir: string;
  data: string;
  /** A data directory being built; renamed to `data` only once complete. */
  dataNew: string;
  socket: string;
  log: string;
  wal: string;
  base: string;
  /** Written when removal begins, kept until the archive goes: the cluster is never created or started again. */
  removed: string;
  /** What the cluster was made with (ClusterSettings), outside `data/`, which forks and rollbacks copy. */
  settings: string;
  /** The TLS certificate and private key (`server.crt`, `server.key`) of a cluster with TLS. */
  tls: string;
  /** A key pair being made; renamed to `tls` only once complete. */
  tlsNew: string;
}

/**
 * Recorded by `ensure` in the cluster's directory, read before every start: the address to
 * listen on besides loopback, and whether tenants must use TLS (decided once, when the cluster
 * is first made). A cluster without the file was made before it existed: loopback, no TLS.
 */
interface ClusterSettings {
  address: string | null;
  tls: boolean;
}

const LOOPBACK_ADDRESS = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

function validateAddress(address: string): void {
  if (!/^[A-Za-z0-9.:-]{1,255}$/.test(address)) throw new Error(`Invalid cluster address ${JSON.stringify(address)}`);
}

function validateKey(key: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(key)) throw new Error(`Invalid cluster key ${JSON.stringify(key)}`);
}

function validatePort(port: number): void {
  if (!Number.isInteger(port) || port < 1024 || port > 65535) throw new Error(`Invalid cluster port ${port}`);
}

/** `2026-11-26T12:00:00.123Z` as a directory name that sorts by time. */
const backupId = (at: Date) => at.toISOString().replace(/[-:]/g, '').replace('.', '');

/** The segment part of a WAL file name (`pg_archivecleanup` compares names without the timeline). */
const segment = (walFile: string) => walFile.slice(8);

/** The cluster's removal began: it is not created or started again. */
class ClusterRemovedError extends Error {
  constructor(key: string) {
    super(`Cluster ${key} was removed; it is not created or started again.`);
  }
}

/**
 * Runs each dedicated cluster as a postmaster on this machine, as the `postgres` OS user when
 * Attache runs as root (initdb and pg_ctl refuse root), else as Attache's own user. One directory
 * per cluster under the configured root: `data/`, `socket/`, `postgres.log` and `archive/` (`wal/`
 * and `base/<time>/`). Postmasters are started with pg_ctl and outlive Attache; `ensure` and
 * `start` adopt them by their postmaster.pid. Attache talks to a cluster as its superuser over the
 * socket, which only root and postgres can reach; TCP is for the tenant, with scram-sha-256, on
 * loopback and the host's address, and over TLS only for a cluster made with TLS (`tls/`, a
 * self-signed pair made with openssl unless one is put there).
 * Several worker processes may drive the same clusters: each cluster's operations hold a lock
 * of the machine's (see `locked`), and `remove` leaves a `removed` mark that `ensure` and
 * `start` respect, so a supervision restart never outlives or undoes a removal.
 */
@Injectable()
export class LocalPgClusterDriver extends PgClusterDriver {
  private readonly logger = new Logger(LocalPgClusterDriver.name);
  private readonly asRoot = process.getuid?.() === 0;
  /** Operations on one cluster in this process run one after another. */
  private readonly locks = new MachineLocks();

  constructor(private readonly options: PgDedicatedOptions) {
    super();
    if (/['"\\\s]/.test(options.rootDir)) throw new Error(`The dedicated PostgreSQL root ${options.rootDir} must not contain quotes, backslashes or spaces.`);
  }

  async ensure(spec: PgClusterSpec, origin: PgClusterOrigin): Promise<PgClusterAccess> {
    validateKey(spec.key);
    validatePort(spec.port);
    if (spec.address !== undefined) validateAddress(spec.address);
    return this.locked(spec.key, async () => {
      const paths = this.paths(spec.key);
      if (await this.exists(paths.removed)) throw new ClusterRemovedError(spec.key);
      await this.prepareDirs(paths);
      const created = !(await this.exists(join(paths.data, 'PG_VERSION')));
      const settings = await this.recordSettings(spec, paths, created);
      if (created) await this.create(spec, origin, paths);
      await this.startLocked(spec, paths);
      if (origin.kind !== 'follow') {
        await this.waitOutOfRecovery(spec, paths);
        await this.setUpTenant(spec, origin);
      }
      return { tls: settings.tls };
    });
  }

  /** Adopts or starts an existing cluster (supervision); never creates one, nor starts a removed one. */
  async start(spec: PgClusterSpec): Promise<'running' | 'removed'> {
    validateKey(spec.key);
    validatePort(spec.port);
    return this.locked(spec.key, async () => {
      const paths = this.paths(spec.key);
      if (await this.exists(paths.removed)) return 'removed';
      if (!(await this.exists(join(paths.data, 'PG_VERSION')))) throw new Error(`Cluster ${spec.key} has no data directory to start.`);
      try {
        await this.startLocked(spec, paths);
      } catch (error) {
        // Removal began while it started: the removal stops what was started.
        if (error instanceof ClusterRemovedError) return 'removed';
        throw error;
      }
      return 'running';
    });
  }

  async isHealthy(spec: PgClusterSpec): Promise<boolean> {
    const pid = await this.postmasterPid(this.paths(spec.key).data);
    if (pid === null || !this.alive(pid)) return false;
    return !(await this.isPortFree(spec.port));
  }

  async takeBaseBackup(spec: PgClusterSpec): Promise<PgBaseBackup> {
    const paths = this.paths(spec.key);
    const startedAt = new Date();
    const tmp = join(paths.base, `${backupId(startedAt)}.tmp`);
    await rm(tmp, { recursive: true, force: true });
    // A fast checkpoint: the default spread one would make the backup wait for minutes.
    await this.runPg('pg_basebackup', ['-D', tmp, '-h', paths.socket, '-p', String(spec.port), '-U', 'postgres', '-X', 'stream', '-c', 'fast']);
    const finishedAt = new Date();
    await this.writeAsPg(join(tmp, 'attache_finished_at'), finishedAt.toISOString());
    const id = backupId(startedAt);
    await rename(tmp, join(paths.base, id));
    return { id, finishedAt, bytes: await this.duBytes(join(paths.base, id)) };
  }

  async baseBackups(key: string): Promise<PgBaseBackup[]> {
    validateKey(key);
    const { base } = this.paths(key);
    const names = (await readdir(base).catch(() => [] as string[])).filter((name) => !name.endsWith('.tmp')).sort();
    const backups: PgBaseBackup[] = [];
    for (const id of names) {
      const finished = await readFile(join(base, id, 'attache_finished_at'), 'utf8').catch(() => null);
      if (!finished) continue;
      backups.push({ id, finishedAt: new Date(finished.trim()), bytes: await this.duBytes(join(base, id)) });
    }
    return backups;
  }

  async pruneArchive(key: string, keep: PgArchiveKeep): Promise<void> {
    const backups = await this.baseBackups(key);
    const before = backups.filter((b) => b.finishedAt < keep.from);
    const drop = before.slice(0, -1);
    const { base, wal } = this.paths(key);
    for (const backup of drop) await rm(join(base, backup.id), { recursive: true, force: true });
    const oldest = backups.find((b) => !drop.includes(b));
    if (!oldest) return;
    const label = await readFile(join(base, oldest.id, 'backup_label'), 'utf8').catch(() => '');
    let walFile = /START WAL LOCATION: .* \(file ([0-9A-F]{24})\)/.exec(label)?.[1];
    for (const replayer of keep.replayers) {
      const needed = await this.restartWalFile(replayer);
      // A follower still being copied, or one whose control file cannot be read: keep all the WAL this time.
      if (!needed) return;
      if (walFile && segment(needed) < segment(walFile)) walFile = needed;
    }
    if (walFile) await this.runPg('pg_archivecleanup', [wal, walFile]);
  }

  async flushArchive(spec: PgClusterSpec): Promise<void> {
    const { wal } = this.paths(spec.key);
    const file = await this.withSuperuser(spec, async (client) => {
      // A transaction with an xid writes a commit record: recovery to "now" has a commit after its target to stop at.
      await client.query('SELECT txid_current()');
      const result = await client.query<{ file: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS file');
      return result.rows[0].file;
    });
    const deadline = Date.now() + ARCHIVE_WAIT_MS;
    while (!(await this.exists(join(wal, file)))) {
      if (Date.now() > deadline) throw new Error(`WAL file ${file} of ${spec.key} was not archived within ${ARCHIVE_WAIT_MS / 1000} s.`);
      await sleep(POLL_MS);
    }
  }

  async status(spec: PgClusterSpec): Promise<PgClusterStatus> {
    const paths = this.paths(spec.key);
    const [walArchiveBytes, baseBackups, standalone] = await Promise.all([this.duBytes(paths.wal), this.baseBackups(spec.key), this.isHealthy(spec)]);
    // A premium cluster's primary runs under pg_auto_failover (LocalPgPremiumDriver), with no data/ of its own.
    const healthy = standalone || ((await this.exists(join(paths.dir, 'monitor', 'PG_VERSION'))) && !(await this.isPortFree(spec.port)));
    if (!healthy) return { running: false, inRecovery: false, serverVersion: '', sizeBytes: 0, connections: 0, walArchiveBytes, baseBackups };
    return this.withSuperuser(spec, async (client) => {
      const result = await client.query<{ version: string; size: string; connections: number; recovery: boolean }>(
        `SELECT current_setting('server_version') AS version, pg_database_size($1) AS size,
                (SELECT count(*)::int FROM pg_stat_activity WHERE datname = $1) AS connections, pg_is_in_recovery() AS recovery`,
        [spec.database],
      );
      const row = result.rows[0];
      return { running: true, inRecovery: row.recovery, serverVersion: row.version, sizeBytes: Number(row.size), connections: row.connections, walArchiveBytes, baseBackups };
    });
  }

  async lag(follower: PgClusterSpec, primary: PgClusterSpec): Promise<PgReplicationLag> {
    const replay = await this.withSuperuser(follower, async (client) => {
      const result = await client.query<{ lsn: string | null; age: string | null }>(
        'SELECT pg_last_wal_replay_lsn()::text AS lsn, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::text AS age',
      );
      return result.rows[0];
    });
    const bytes = await this.withSuperuser(primary, async (client) => {
      const result = await client.query<{ bytes: string }>('SELECT GREATEST(pg_wal_lsn_diff(pg_current_wal_lsn(), COALESCE($1::pg_lsn, \'0/0\')), 0)::bigint AS bytes', [replay.lsn]);
      return Number(result.rows[0].bytes);
    });
    return { bytes, seconds: bytes === 0 ? 0 : Math.max(0, Number(replay.age ?? 0)) };
  }

  async setConnectionLimit(spec: PgClusterSpec, limit: number): Promise<void> {
    await this.withSuperuser(spec, (client) => client.query(`ALTER ROLE ${ident(spec.ownerRole)} CONNECTION LIMIT ${Math.trunc(limit)}`));
  }

  async promote(spec: PgClusterSpec): Promise<void> {
    await this.locked(spec.key, async () => {
      const paths = this.paths(spec.key);
      const inRecovery = await this.withSuperuser(spec, async (client) => (await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0].r);
      if (inRecovery) await this.runPg('pg_ctl', ['-D', paths.data, '-w', '-t', String(START_TIMEOUT_S), 'promote']);
      await this.waitOutOfRecovery(spec, paths);
      await this.withSuperuser(spec, async (client) => {
        // The old primary is no business of an independent cluster.
        await client.query('ALTER SYSTEM RESET primary_conninfo');
        await client.query('SELECT pg_reload_conf()');
      });
    });
  }

  async loadDump(spec: PgClusterSpec, file: string, options: { replace?: boolean } = {}): Promise<void> {
    if (options.replace) {
      await this.withSuperuser(spec, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${ident(spec.database)} WITH (FORCE)`);
        await client.query(`CREATE DATABASE ${ident(spec.database)} OWNER ${ident(spec.ownerRole)}`);
        await client.query(`REVOKE ALL ON DATABASE ${ident(spec.database)} FROM PUBLIC`);
      });
      await this.withSuperuser(spec, async (client) => {
        await client.query(`ALTER SCHEMA public OWNER TO ${ident(spec.ownerRole)}`);
        await client.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
      }, spec.database);
    }
    const tables = await this.withSuperuser(
      spec,
      async (client) => (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')")).rows[0].n,
      spec.database,
    );
    if (tables > 0) return;
    const args = ['--no-owner', '--no-acl', '--single-transaction', '--exit-on-error', '-h', LOOPBACK, '-p', String(spec.port), '-U', spec.ownerRole, '-d', spec.database, file];
    try {
      // Over TCP as the tenant, the password in the environment (never in argv).
      const { tls } = await this.readSettings(this.paths(spec.key));
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSWORD: spec.ownerPassword, PGCONNECT_TIMEOUT: '10', PGSSLMODE: tls ? 'require' : 'prefer' };
      await execFileAsync(join(PG_BIN, 'pg_restore'), args, { cwd: '/', timeout: COMMAND_TIMEOUT_MS, env });
    } catch (error) {
      const stderr = ((error as { stderr?: string }).stderr ?? '').split(spec.ownerPassword).join('[redacted]');
      throw new Error(`pg_restore failed: ${stderr.trim().split('\n').slice(-4).join(' ') || message(error)}`);
    }
  }

  async remove(spec: Pick<PgClusterSpec, 'key' | 'port'>): Promise<void> {
    validateKey(spec.key);
    const paths = this.paths(spec.key);
    // Marked before waiting for the lock: an `ensure` holding it (a long recovery) sees it and gives up.
    await this.markRemoved(paths);
    await this.locked(spec.key, async () => {
      await this.stop(paths);
      // The private key goes with the data: the cluster is never started again.
      await Promise.all([paths.data, paths.dataNew, paths.socket, paths.log, paths.tls, paths.tlsNew].map((path) => rm(path, { recursive: true, force: true })));
      const base = await readdir(paths.base).catch(() => [] as string[]);
      await Promise.all(base.filter((name) => name.endsWith('.tmp')).map((name) => rm(join(paths.base, name), { recursive: true, force: true })));
      const deadline = Date.now() + STOP_TIMEOUT_S * 1000;
      while (!(await this.isPortFree(spec.port)) && Date.now() < deadline) await sleep(POLL_MS);
    });
  }

  async purgeArchive(key: string): Promise<void> {
    validateKey(key);
    await this.locked(key, async () => {
      const paths = this.paths(key);
      if (await this.exists(join(paths.data, 'PG_VERSION'))) throw new Error(`Cluster ${key} still has its data directory; remove it first.`);
      await rm(paths.dir, { recursive: true, force: true });
    });
  }

  isPortFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = createConnection({ host: LOOPBACK, port });
      socket.setTimeout(1_000);
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
    });
  }

  /**
   * The WAL file a restart of the cluster would begin reading at (its last checkpoint's or, on a
   * follower, restart point's redo); null while it has no complete data directory.
   */
  private async restartWalFile(key: string): Promise<string | null> {
    const { data } = this.paths(key);
    if (!(await this.exists(join(data, 'global', 'pg_control')))) return null;
    const output = await this.runPg('pg_controldata', ['-D', data]).catch(() => '');
    return /^Latest checkpoint's REDO WAL file:\s+([0-9A-F]{24})$/m.exec(output)?.[1] ?? null;
  }

  // --- creation -------------------------------------------------------------------------------

  private async create(spec: PgClusterSpec, origin: PgClusterOrigin, paths: ClusterPaths): Promise<void> {
    await rm(paths.dataNew, { recursive: true, force: true });
    switch (origin.kind) {
      case 'new':
        await this.mkdirAsPg(paths.dataNew, 0o700);
        await this.runPg('initdb', ['-D', paths.dataNew, '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '--auth-local=trust', '--auth-host=scram-sha-256']);
        break;
      case 'fork':
      case 'follow': {
        const source = this.paths(origin.source.key);
        const args = ['-D', paths.dataNew, '-h', source.socket, '-p', String(origin.source.port), '-U', 'postgres', '-X', 'stream', '-c', 'fast'];
        // -R: standby.signal and primary_conninfo (over the source's socket) for a follower.
        await this.runPg('pg_basebackup', origin.kind === 'follow' ? [...args, '-R'] : args);
        // A follower that falls behind what the primary keeps reads the rest from its archive.
        if (origin.kind === 'follow') await this.writeAsPg(join(paths.dataNew, 'attache-recovery.conf'), `restore_command = 'cp "${source.wal}/%f" "%p"'\n`);
        break;
      }
      case 'rollback':
        await this.prepareRollback(origin, paths);
        break;
    }
    if (origin.kind !== 'new') await this.dropFailoverSettings(paths.dataNew);
    const conf = join(paths.dataNew, 'postgresql.conf');
    const text = await readFile(conf, 'utf8');
    if (!text.includes("include_if_exists 'attache.conf'")) await this.writeAsPg(conf, `${text}\ninclude_if_exists 'attache.conf'\ninclude_if_exists 'attache-recovery.conf'\n`);
    // Only a complete data directory gets the real name: a crash before leaves data.new to redo.
    await rename(paths.dataNew, paths.data);
  }

  /**
   * A copy of a premium cluster's node carries what pg_autoctl set on it: `synchronous_standby_names`
   * naming the formation's standby (every commit here would wait for it forever),
   * `default_transaction_read_only` from a demotion, and includes of files only pg_autoctl keeps.
   */
  private async dropFailoverSettings(data: string): Promise<void> {
    const auto = join(data, 'postgresql.auto.conf');
    const settings = await readFile(auto, 'utf8').catch(() => null);
    if (settings !== null) {
      const kept = settings.split('\n').filter((line) => !/^\s*(synchronous_standby_names|default_transaction_read_only)\s*=/.test(line));
      await this.writeAsPg(auto, kept.join('\n'));
    }
    const conf = join(data, 'postgresql.conf');
    const lines = (await readFile(conf, 'utf8')).split('\n');
    const kept = lines.filter((line) => !/^\s*include\s+'postgresql-auto-failover(-standby)?\.conf'/.test(line));
    if (kept.length !== lines.length) await this.writeAsPg(conf, kept.join('\n'));
    await Promise.all(['postgresql-auto-failover.conf', 'postgresql-auto-failover-standby.conf'].map((name) => rm(join(data, name), { force: true })));
  }

  private async prepareRollback(origin: Extract<PgClusterOrigin, { kind: 'rollback' }>, paths: ClusterPaths): Promise<void> {
    if (origin.source) await this.flushArchive(origin.source);
    const source = this.paths(origin.sourceKey);
    const backups = (await this.baseBackups(origin.sourceKey)).filter((b) => b.finishedAt <= origin.target);
    const backup = backups[backups.length - 1];
    if (!backup) throw new Error(`No base backup of ${origin.sourceKey} finished before ${origin.target.toISOString()}.`);
    await this.runPg('cp', ['-a', join(source.base, backup.id), paths.dataNew], { bin: 'cp' });
    await rm(join(paths.dataNew, 'attache_finished_at'), { force: true });
    await this.writeAsPg(join(paths.dataNew, 'recovery.signal'), '');
    await this.writeAsPg(
      join(paths.dataNew, 'attache-recovery.conf'),
      [
        `restore_command = 'cp "${source.wal}/%f" "%p"'`,
        `recovery_target_time = '${origin.target.toISOString().replace('T', ' ').replace('Z', '+00')}'`,
        "recovery_target_action = 'promote'",
        "recovery_target_timeline = 'latest'",
        '',
      ].join('\n'),
    );
  }

  private async setUpTenant(spec: PgClusterSpec, origin: PgClusterOrigin): Promise<void> {
    await this.withSuperuser(spec, async (client) => {
      const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [spec.ownerRole]);
      // The password always becomes the spec's: a fork or rollback gets its own, not its source's.
      const password = `PASSWORD ${literal(await pgScramVerifier(spec.ownerPassword))}`;
      const limit = spec.connectionLimit !== undefined ? ` CONNECTION LIMIT ${Math.trunc(spec.connectionLimit)}` : '';
      if (role.rowCount === 0) await client.query(`CREATE ROLE ${ident(spec.ownerRole)} LOGIN ${password}${limit}`);
      else await client.query(`ALTER ROLE ${ident(spec.ownerRole)} LOGIN ${password}${limit}`);
      if (origin.kind !== 'new') return;
      const database = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [spec.database]);
      if (database.rowCount === 0) await client.query(`CREATE DATABASE ${ident(spec.database)} OWNER ${ident(spec.ownerRole)}`);
      await client.query(`REVOKE ALL ON DATABASE ${ident(spec.database)} FROM PUBLIC`);
      await client.query(`GRANT ALL ON DATABASE ${ident(spec.database)} TO ${ident(spec.ownerRole)}`);
    });
    if (origin.kind === 'new') {
      await this.withSuperuser(spec, async (client) => {
        await client.query(`ALTER SCHEMA public OWNER TO ${ident(spec.ownerRole)}`);
        await client.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
      }, spec.database);
    }
  }

  // --- processes ------------------------------------------------------------------------------

  private async startLocked(spec: PgClusterSpec, paths: ClusterPaths): Promise<void> {
    const pid = await this.postmasterPid(paths.data);
    if (pid !== null && this.alive(pid)) {
      const port = await this.postmasterPort(paths.data);
      if (port !== spec.port) throw new Error(`Cluster ${spec.key} runs on port ${port}, not ${spec.port}.`);
    } else {
      if (!(await this.isPortFree(spec.port))) throw new Error(`Port ${spec.port} of cluster ${spec.key} is taken by another program.`);
      // The postmaster that wrote it is dead (perhaps a zombie, which postgres would take for alive).
      if (pid !== null) await rm(join(paths.data, 'postmaster.pid'), { force: true });
      const settings = await this.readSettings(paths);
      if (settings.tls) await this.ensureCertificate(spec.key, paths);
      await this.writeSettings(spec, paths, settings);
      await this.touchAsPg(paths.log);
      try {
        await this.runPg('pg_ctl', ['-D', paths.data, '-l', paths.log, '-s', '-w', '-t', String(START_TIMEOUT_S), 'start']);
      } catch (error) {
        const tail = (await readFile(paths.log, 'utf8').catch(() => '')).split('\n').slice(-8).join('\n');
        throw new Error(`Cluster ${spec.key} did not start: ${message(error)}\n${tail}`);
      }
    }
    const deadline = Date.now() + START_TIMEOUT_S * 1000;
    for (;;) {
      try {
        await this.withSuperuser(spec, (client) => client.query('SELECT 1'));
        return;
      } catch (error) {
        if (await this.exists(paths.removed)) throw new ClusterRemovedError(spec.key);
        // A postmaster that died meanwhile (one killed just before, still alive when looked at) will
        // never answer: say so now, so the next start starts it, instead of waiting out the deadline.
        const running = await this.postmasterPid(paths.data);
        if (running === null || !this.alive(running)) throw new Error(`Cluster ${spec.key}'s postmaster exited before accepting connections: ${message(error)}`);
        if (Date.now() > deadline) throw new Error(`Cluster ${spec.key} does not accept connections: ${message(error)}`);
        await sleep(POLL_MS);
      }
    }
  }

  private async waitOutOfRecovery(spec: PgClusterSpec, paths: ClusterPaths): Promise<void> {
    const deadline = Date.now() + RECOVERY_WAIT_MS;
    for (;;) {
      const inRecovery = await this.withSuperuser(spec, async (client) => (await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0].r).catch(async (error) => {
        // A rollback whose target cannot be reached stops the postmaster: say why.
        if (!(await this.isHealthy(spec))) {
          const tail = (await readFile(paths.log, 'utf8').catch(() => '')).split('\n').filter((l) => /FATAL|ERROR/.test(l)).slice(-3).join('\n');
          throw new Error(`Cluster ${spec.key} stopped during recovery: ${tail || message(error)}`);
        }
        return true;
      });
      if (!inRecovery) break;
      if (await this.exists(paths.removed)) throw new ClusterRemovedError(spec.key);
      if (Date.now() > deadline) throw new Error(`Cluster ${spec.key} is still recovering after ${RECOVERY_WAIT_MS / 1000} s.`);
      await sleep(POLL_MS * 2);
    }
    // Recovery is over: a later restart must not aim at the old target again.
    await rm(join(paths.data, 'attache-recovery.conf'), { force: true });
  }

  private async stop(paths: ClusterPaths): Promise<void> {
    const pid = await this.postmasterPid(paths.data);
    if (pid === null || !this.alive(pid)) return;
    await this.runPg('pg_ctl', ['-D', paths.data, '-m', 'fast', '-w', '-t', String(STOP_TIMEOUT_S), 'stop']).catch((error) => {
      this.logger.warn({ err: message(error) }, 'pg_ctl stop failed; killing the postmaster');
    });
    if (this.alive(pid)) {
      process.kill(pid, 'SIGKILL');
      const deadline = Date.now() + STOP_TIMEOUT_S * 1000;
      while (this.alive(pid) && Date.now() < deadline) await sleep(POLL_MS);
    }
  }

  private async writeSettings(spec: PgClusterSpec, paths: ClusterPaths, cluster: ClusterSettings): Promise<void> {
    // Rewritten before every start: a copied data directory carries its source's.
    // Loopback always (Attache's own checks and loads use it); an address that is not this machine's is skipped by postgres with a warning.
    const listen = cluster.address && cluster.address !== LOOPBACK && cluster.address !== 'localhost' ? `${LOOPBACK},${cluster.address}` : LOOPBACK;
    const tls = cluster.tls ? ['ssl = on', `ssl_cert_file = '${join(paths.tls, 'server.crt')}'`, `ssl_key_file = '${join(paths.tls, 'server.key')}'`] : ['ssl = off'];
    const settings = [
      `listen_addresses = '${listen}'`,
      `port = ${spec.port}`,
      `unix_socket_directories = '${paths.socket}'`,
      'unix_socket_permissions = 0700',
      "password_encryption = 'scram-sha-256'",
      // The plans' limits are on the owner role; this leaves room above the largest for Attache and replication.
      'max_connections = 450',
      'shared_buffers = 32MB',
      'wal_level = replica',
      'archive_mode = on',
      `archive_command = 'test ! -f "${paths.wal}/%f" && cp "%p" "${paths.wal}/%f"'`,
      // A quiet cluster still archives what it wrote within a minute.
      'archive_timeout = 60',
      'max_wal_senders = 10',
      'max_replication_slots = 10',
      'wal_keep_size = 64MB',
      'hot_standby = on',
      'hot_standby_feedback = on',
      "logging_collector = off",
      ...tls,
      '',
    ].join('\n');
    await this.writeAsPg(join(paths.data, 'attache.conf'), settings);
    // Tenants come from loopback only, unless the cluster listens on an address others reach.
    const sources = cluster.address && !LOOPBACK_ADDRESS.test(cluster.address) ? ['all'] : ['127.0.0.0/8', '::1/128'];
    const hba = [
      '# Managed by Attache. The socket directory is reachable only by root and postgres.',
      'local all all trust',
      'local replication all trust',
      'host all postgres 0.0.0.0/0 reject',
      'host all postgres ::/0 reject',
      // A copy of a premium node keeps pg_auto_failover's roles (its replicator is a superuser).
      `host all ${FAILOVER_ROLES} 0.0.0.0/0 reject`,
      `host all ${FAILOVER_ROLES} ::/0 reject`,
      // With TLS, a tenant's connection without it finds its rejection before any other line.
      ...(cluster.tls ? ['hostnossl all all 0.0.0.0/0 reject', 'hostnossl all all ::/0 reject'] : []),
      ...sources.map((source) => `${cluster.tls ? 'hostssl' : 'host'} all all ${source} scram-sha-256`),
      '',
    ].join('\n');
    await this.writeAsPg(join(paths.data, 'pg_hba.conf'), hba);
  }

  // --- helpers --------------------------------------------------------------------------------

  private paths(key: string): ClusterPaths {
    validateKey(key);
    const dir = join(this.options.rootDir, key);
    return {
      dir,
      data: join(dir, 'data'),
      dataNew: join(dir, 'data.new'),
      socket: join(dir, 'socket'),
      log: join(dir, 'postgres.log'),
      wal: join(dir, 'archive', 'wal'),
      base: join(dir, 'archive', 'base'),
      removed: join(dir, 'removed'),
      settings: join(dir, 'cluster.json'),
      tls: join(dir, 'tls'),
      tlsNew: join(dir, 'tls.new'),
    };
  }

  // --- settings and TLS -----------------------------------------------------------------------

  private async readSettings(paths: ClusterPaths): Promise<ClusterSettings> {
    const text = await readFile(paths.settings, 'utf8').catch(() => null);
    if (text === null) return { address: null, tls: false };
    const parsed = JSON.parse(text) as Partial<ClusterSettings>;
    const address = typeof parsed.address === 'string' ? parsed.address : null;
    // It goes into postgresql.conf.
    if (address !== null) validateAddress(address);
    return { address, tls: parsed.tls === true };
  }

  /**
   * Records what the cluster listens on and whether it has TLS, before it is made: a retry after
   * a crash (or a changed setting) keeps the decision. TLS is decided only for a cluster being
   * made; one that has data and no record predates TLS and keeps without it.
   */
  private async recordSettings(spec: PgClusterSpec, paths: ClusterPaths, creating: boolean): Promise<ClusterSettings> {
    const recorded = (await this.exists(paths.settings)) ? await this.readSettings(paths) : null;
    const settings: ClusterSettings = {
      address: spec.address ?? recorded?.address ?? null,
      tls: recorded ? recorded.tls : creating && this.options.tls === true,
    };
    if (recorded && recorded.address === settings.address) return settings;
    await writeFileDurably(paths.settings, `${JSON.stringify(settings)}\n`, { mode: 0o600, prepare: (tmp) => this.giveToPg(tmp) });
    return settings;
  }

  /**
   * A self-signed certificate and its private key in `tls/`, made with openssl as the cluster's
   * OS user (the key is never on an argument list, and mode 0600, as postgres requires). A pair
   * already there (one made before, or a CA-signed one put in its place) is kept.
   */
  private async ensureCertificate(key: string, paths: ClusterPaths): Promise<void> {
    if ((await this.exists(join(paths.tls, 'server.crt'))) && (await this.exists(join(paths.tls, 'server.key')))) return;
    await rm(paths.tlsNew, { recursive: true, force: true });
    await this.mkdirAsPg(paths.tlsNew, 0o700);
    const keyFile = join(paths.tlsNew, 'server.key');
    await this.runPg(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', join(paths.tlsNew, 'server.crt'), '-days', String(CERT_DAYS), '-subj', `/CN=${key}`],
      { bin: 'openssl' },
    );
    await chmod(keyFile, 0o600);
    await rm(paths.tls, { recursive: true, force: true });
    await rename(paths.tlsNew, paths.tls);
  }

  private async prepareDirs(paths: ClusterPaths): Promise<void> {
    await mkdir(this.options.rootDir, { recursive: true, mode: 0o755 });
    await this.mkdirAsPg(paths.dir, 0o700);
    await this.mkdirAsPg(paths.socket, 0o700);
    await this.mkdirAsPg(join(paths.dir, 'archive'), 0o700);
    await this.mkdirAsPg(paths.wal, 0o700);
    await this.mkdirAsPg(paths.base, 0o700);
  }

  /** The `removed` mark, on disk (synced with its directory entry) before the cluster is touched. */
  private async markRemoved(paths: ClusterPaths): Promise<void> {
    if (await this.exists(paths.removed)) return;
    await mkdir(this.options.rootDir, { recursive: true, mode: 0o755 });
    await this.mkdirAsPg(paths.dir, 0o700);
    await writeFileDurably(paths.removed, `${new Date().toISOString()}\n`, { mode: 0o600 });
  }

  private async mkdirAsPg(path: string, mode: number): Promise<void> {
    await mkdir(path, { recursive: true, mode });
    await this.giveToPg(path);
  }

  private async writeAsPg(path: string, text: string): Promise<void> {
    await writeFile(path, text, { mode: 0o600 });
    await this.giveToPg(path);
  }

  private async touchAsPg(path: string): Promise<void> {
    await writeFile(path, '', { flag: 'a', mode: 0o600 });
    await this.giveToPg(path);
  }

  private async giveToPg(path: string): Promise<void> {
    if (!this.asRoot) return;
    const { uid, gid } = await this.postgresUser();
    await chown(path, uid, gid);
  }

  private pgUser?: Promise<{ uid: number; gid: number }>;
  private postgresUser(): Promise<{ uid: number; gid: number }> {
    this.pgUser ??= execFileAsync('id', ['-u', 'postgres']).then(async ({ stdout: uid }) => {
      const { stdout: gid } = await execFileAsync('id', ['-g', 'postgres']);
      return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
    });
    return this.pgUser;
  }

  /** A PostgreSQL tool (or `bin`) as the cluster's OS user, from `/` (postgres may not enter our cwd). */
  private async runPg(tool: string, args: string[], options: { bin?: string } = {}): Promise<string> {
    const bin = options.bin ?? join(PG_BIN, tool);
    const [command, argv] = this.asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
    try {
      const { stdout } = await execFileAsync(command, argv, { cwd: '/', timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } });
      return stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`${tool} failed: ${stderr.trim().split('\n').slice(-4).join(' ') || message(error)}`);
    }
  }

  private async withSuperuser<T>(spec: Pick<PgClusterSpec, 'key' | 'port'>, work: (client: Client) => Promise<T>, database = 'postgres'): Promise<T> {
    const client = new Client({ host: this.paths(spec.key).socket, port: spec.port, user: 'postgres', database, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async postmasterPid(data: string): Promise<number | null> {
    const text = await readFile(join(data, 'postmaster.pid'), 'utf8').catch(() => null);
    const pid = Number(text?.split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  }

  private async postmasterPort(data: string): Promise<number | null> {
    const text = await readFile(join(data, 'postmaster.pid'), 'utf8').catch(() => null);
    const port = Number(text?.split('\n')[3]);
    return Number.isInteger(port) ? port : null;
  }

  /**
   * The process runs and is a postgres (not a zombie: pid 1 of a container may never reap the
   * postmasters reparented to it, and a zombie would pass kill(pid, 0)).
   */
  private alive(pid: number): boolean {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
    } catch {
      return false;
    }
  }

  private async exists(path: string): Promise<boolean> {
    return stat(path).then(
      () => true,
      () => false,
    );
  }

  private async duBytes(path: string): Promise<number> {
    let total = 0;
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) total += await this.duBytes(full);
      else total += (await stat(full).catch(() => ({ size: 0 }))).size;
    }
    return total;
  }

  /**
   * Runs `work` alone for the cluster: after this process's earlier operations on it, and holding
   * the machine's lock of the cluster's directory, so another worker process cannot start the
   * cluster while this one removes it (or the reverse).
   */
  private locked<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.locks.run(clusterLockName(this.paths(key).dir), work);
  }
}
