import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Injectable } from '@nestjs/common';
import { Client, escapeIdentifier as ident, escapeLiteral as literal } from 'pg';
import { PgClusterDriver, PgDedicatedOptions, PgPremiumDriver, PgPremiumNode, PgPremiumSpec, PgPremiumState } from '@app/domain';
import { pgScramVerifier } from './pg-scram-verifier';
import { MachineLocks, clusterLockName } from './machine-lock';
import { syncDirectory, writeFileDurably } from './durable-files';

const execFileAsync = promisify(execFile);

const PG_BIN = '/usr/lib/postgresql/15/bin';
const PG_AUTOCTL = '/usr/bin/pg_autoctl';
const LOOPBACK = '127.0.0.1';
const FORMATION_WAIT_MS = 180_000;
const STOP_WAIT_MS = 30_000;
const POLL_MS = 200;

/** pg_auto_failover's roles: keepers reach the monitor as the first, standbys stream and pg_rewind as the second. */
const MONITOR_ROLE = 'autoctl_node';
const REPLICATION_ROLE = 'pgautofailover_replicator';
/**
 * The role the monitor's health checks log in as, with a password built into pg_auto_failover:
 * it gets a random one nobody keeps. A check counts any answer, a refused login too.
 */
const HEALTH_ROLE = 'pgautofailover_monitor';

/** In the environment of every process started for a cluster: `<key>/<member>`. */
const NODE_TAG = 'ATTACHE_PG_PREMIUM_MEMBER';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Node states in which a node takes writes. */
const PRIMARY_STATES = new Set(['single', 'primary', 'wait_primary']);

/**
 * The monitor's failure detection, tightened from pg_auto_failover's defaults (20 s before a
 * node counts as unhealthy, 30 s before a primary is considered demoted) so a failover completes
 * in well under a minute.
 */
const MONITOR_SETTINGS = [
  'pgautofailover.health_check_period = 1000',
  'pgautofailover.health_check_timeout = 1000',
  'pgautofailover.health_check_max_retries = 1',
  'pgautofailover.health_check_retry_delay = 500',
  'pgautofailover.node_considered_unhealthy_timeout = 5000',
  'pgautofailover.primary_demote_timeout = 10000',
  // pg_autoctl sizes it from the host's memory (gigabytes); the monitor keeps a few rows.
  'shared_buffers = 16MB',
];

/** The formation's removal began: it is not created or started again. */
class FormationRemovedError extends Error {
  constructor(key: string) {
    super(`Cluster ${key} was removed; it is not created or started again.`);
  }
}

/** The passwords of pg_auto_failover's roles, kept in the cluster's passfile. */
interface FormationSecrets {
  monitor: string;
  replication: string;
}

interface PremiumPaths {
  dir: string;
  monitor: string;
  nodes: [string, string];
  socket: string;
  wal: string;
  base: string;
  /** XDG directories of pg_autoctl's configuration, state and pid files, per cluster. */
  xdg: string;
  /** libpq's password file (PGPASSFILE) of every process started for the cluster. */
  passfile: string;
  /**
   * Written when removal begins, kept until the archive goes: the formation is never created or
   * started again. The standard driver's mark of the same directory, which it respects too.
   */
  removed: string;
}

/**
 * Premium clusters on this machine: a pg_auto_failover monitor and two keepers per add-on (a
 * monitor of its own keeps each formation's lifecycle, failure detection settings and removal
 * independent of other tenants'), all as the `postgres` OS user under the add-on's directory,
 * which has the same `socket/` and `archive/` as a standard cluster's, so base backups, forks
 * and rollbacks work on it unchanged. `pg_autoctl run` processes are detached and outlive
 * Attache; they are adopted by their pid files. Several worker processes may drive the same
 * formations: `ensure`, `start` and `remove` hold the machine's lock of the cluster's directory
 * (the one LocalPgClusterDriver takes for it, see `locked`), and `remove` first leaves a synced
 * `removed` mark that `ensure` and `start` respect, so supervision never starts a monitor or
 * keeper that outlives a removal, nor initdbs a monitor where a removed formation was.
 */
@Injectable()
export class LocalPgPremiumDriver extends PgPremiumDriver {
  private readonly asRoot = process.getuid?.() === 0;
  private readonly locks = new MachineLocks();

  constructor(
    private readonly options: PgDedicatedOptions,
    private readonly clusters: PgClusterDriver,
  ) {
    super();
  }

  async ensure(spec: PgPremiumSpec): Promise<void> {
    const paths = this.paths(spec.key);
    await this.locked(paths, async () => {
      if (await this.exists(paths.removed)) throw new FormationRemovedError(spec.key);
      await this.ensureLocked(spec, paths);
    });
  }

  /** Adopts or starts an existing formation (supervision); never creates one, nor starts a removed one. */
  async start(spec: PgPremiumSpec): Promise<'running' | 'removed'> {
    const paths = this.paths(spec.key);
    return this.locked(paths, async () => {
      if (await this.exists(paths.removed)) return 'removed';
      try {
        await this.startMembers(spec, paths);
      } catch (error) {
        // Removal began while members started: the removal stops what was started.
        if (error instanceof FormationRemovedError) return 'removed';
        throw error;
      }
      return 'running';
    });
  }

  async isHealthy(spec: PgPremiumSpec): Promise<boolean> {
    const paths = this.paths(spec.key);
    return this.keeperAlive(paths, 'monitor') && this.keeperAlive(paths, 0) && this.keeperAlive(paths, 1);
  }

  private async ensureLocked(spec: PgPremiumSpec, paths: PremiumPaths): Promise<void> {
    await this.prepareDirs(paths);
    // The passwords are on disk before any role has them: a retry sets the same ones.
    const secrets = await this.secrets(spec, paths);
    // The monitor first: the nodes register with it.
    if (!(await this.exists(join(paths.monitor, 'PG_VERSION')))) await this.initdb(paths.monitor, paths, MONITOR_SETTINGS);
    await this.writeHba(paths.monitor, ['local all all trust', `host pg_auto_failover ${MONITOR_ROLE} ${LOOPBACK}/32 scram-sha-256`]);
    await this.runKeeper(spec, paths, 'monitor');
    await this.waitMonitor(spec);
    await this.setPasswords(paths, spec.monitorPort, 'pg_auto_failover', { [MONITOR_ROLE]: secrets.monitor });
    // The first node starts from an initdb of Attache's settings; the second is a base backup pg_autoctl takes from it.
    if (!(await this.exists(join(paths.nodes[0], 'PG_VERSION'))) && !(await this.exists(join(paths.nodes[1], 'PG_VERSION')))) {
      await this.initdb(paths.nodes[0], paths, this.nodeSettings(paths));
      await this.writeHba(paths.nodes[0], this.nodeHba());
    }
    await this.runKeeper(spec, paths, 0);
    const primary = await this.waitFor(spec, (state) => state.primaryPort !== null, 'a primary');
    // pg_autoctl created the roles with the primary (the replicator without a password); the standby gets them by replication.
    await this.setPasswords(paths, primary.primaryPort!, 'postgres', { [REPLICATION_ROLE]: secrets.replication, [HEALTH_ROLE]: randomBytes(24).toString('hex') });
    await this.runKeeper(spec, paths, 1);
    // Settled: the primary past wait_primary (replicating synchronously), the standby streaming. In between, the monitor names no primary.
    const settled = (s: PgPremiumState) =>
      s.nodes.some((n) => n.port === s.primaryPort && n.state === 'primary' && n.goal === 'primary') && s.nodes.some((n) => n.port !== s.primaryPort && n.state === 'secondary' && n.goal === 'secondary');
    const state = await this.waitFor(spec, settled, 'a primary with a streaming standby');
    await this.setUpTenant({ ...spec, port: state.primaryPort! }, paths);
  }

  private async startMembers(spec: PgPremiumSpec, paths: PremiumPaths): Promise<void> {
    // `pg_autoctl create monitor --run` would initdb a new one where there is none.
    if (!(await this.exists(join(paths.monitor, 'PG_VERSION')))) throw new Error(`Cluster ${spec.key} has no monitor to start.`);
    if (!this.keeperAlive(paths, 'monitor')) {
      for (const pid of this.tagged(spec.key, 'monitor', true)) this.signal(pid, 'SIGKILL');
      await this.stopOrphanedMonitor(spec, paths);
      await this.runKeeper(spec, paths, 'monitor');
    }
    const state = await this.state(spec).catch(() => null);
    for (const index of [0, 1] as const) {
      if (this.keeperAlive(paths, index)) continue;
      if (!(await this.exists(join(paths.nodes[index], 'PG_VERSION')))) continue;
      const node = state?.nodes.find((n) => n.port === spec.nodePorts[index]);
      const other = state?.nodes.find((n) => n.port !== spec.nodePorts[index]);
      // A dead primary with a healthy standby is the monitor's to fail over; it rejoins afterwards. One whose
      // postgres still runs is not failed over (it answers the monitor's checks): its keeper is started, and adopts it.
      const dead = (await this.postmasterOf(spec.key, paths, index)) === null;
      if (dead && node && other && PRIMARY_STATES.has(node.goal) && other.healthy && other.state === 'secondary') continue;
      // A SIGKILLed keeper leaves its own sub-processes behind; the new one starts its own.
      for (const pid of this.tagged(spec.key, `node${index}`, true)) this.signal(pid, 'SIGKILL');
      await this.runKeeper(spec, paths, index);
    }
  }

  /**
   * The monitor's postgres left running by its dead keeper is shut down (fast): unlike a node's
   * keeper, `pg_autoctl create monitor` refuses to adopt a running instance. A dead postmaster's
   * pid file goes too: postgres takes its pid for alive while it exists, even as a zombie.
   */
  private async stopOrphanedMonitor(spec: PgPremiumSpec, paths: PremiumPaths): Promise<void> {
    const pid = await this.postmasterOf(spec.key, paths, 'monitor');
    if (pid !== null) {
      this.signal(pid, 'SIGINT');
      const deadline = Date.now() + STOP_WAIT_MS;
      while (this.alive(pid) && Date.now() < deadline) await sleep(POLL_MS);
      for (const left of this.tagged(spec.key, 'monitor')) this.signal(left, 'SIGKILL');
      while (this.tagged(spec.key, 'monitor').length > 0 && Date.now() < deadline + STOP_WAIT_MS) await sleep(POLL_MS);
    }
    const file = join(paths.monitor, 'postmaster.pid');
    const written = Number((await readFile(file, 'utf8').catch(() => '')).split('\n')[0]);
    if (Number.isInteger(written) && written > 0 && !this.alive(written) && (await this.clusters.isPortFree(spec.monitorPort))) await rm(file, { force: true });
  }

  /** The member's running postmaster: the pid its postmaster.pid names, if that process carries the member's tag. */
  private async postmasterOf(key: string, paths: PremiumPaths, which: 0 | 1 | 'monitor'): Promise<number | null> {
    const data = which === 'monitor' ? paths.monitor : paths.nodes[which];
    const pid = Number((await readFile(join(data, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && this.tagged(key, which === 'monitor' ? 'monitor' : `node${which}`).includes(pid) ? pid : null;
  }

  async state(spec: PgPremiumSpec): Promise<PgPremiumState> {
    const client = new Client({ host: this.paths(spec.key).socket, port: spec.monitorPort, user: 'postgres', database: 'pg_auto_failover', connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const { rows } = await client.query<{ port: number; state: string; goal: string; health: number; lsn: string }>(
        "SELECT nodeport AS port, reportedstate::text AS state, goalstate::text AS goal, health, reportedlsn::text AS lsn FROM pgautofailover.node WHERE formationid = 'default' ORDER BY nodeid",
      );
      const primary = rows.find((row) => PRIMARY_STATES.has(row.state) && row.state === row.goal) ?? null;
      const nodes: PgPremiumNode[] = [];
      for (const row of rows) {
        let lagBytes = 0;
        if (primary && row !== primary) {
          const diff = await client.query<{ bytes: string }>('SELECT GREATEST(pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn), 0)::bigint AS bytes', [primary.lsn, row.lsn]);
          lagBytes = Number(diff.rows[0].bytes);
        }
        nodes.push({ port: row.port, state: row.state, goal: row.goal, healthy: row.health === 1, lagBytes });
      }
      return { primaryPort: primary?.port ?? null, nodes };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async remove(spec: Pick<PgPremiumSpec, 'key' | 'monitorPort' | 'nodePorts'>): Promise<void> {
    const paths = this.paths(spec.key);
    // Marked before waiting for the lock: an `ensure` or `start` holding it sees it and gives up.
    await this.markRemoved(paths);
    await this.locked(paths, () => this.removeLocked(spec, paths));
  }

  private async removeLocked(spec: Pick<PgPremiumSpec, 'key' | 'monitorPort' | 'nodePorts'>, paths: PremiumPaths): Promise<void> {
    // Only pids that carry the cluster's tag: a stale pid file's pid may be another cluster's process by now.
    const ours = new Set(this.tagged(spec.key));
    const stopping: number[] = [];
    for (const which of [0, 1, 'monitor'] as const) {
      const keeper = this.keeperPid(paths, which);
      const postmaster = await this.postmasterOf(spec.key, paths, which);
      // pg_autoctl stops its postgres on SIGTERM; a postgres whose keeper died is shut down directly (fast).
      if (keeper !== null && ours.has(keeper)) {
        this.signal(keeper, 'SIGTERM');
        stopping.push(keeper);
      } else if (postmaster !== null) {
        this.signal(postmaster, 'SIGINT');
      }
      if (postmaster !== null) stopping.push(postmaster);
    }
    const deadline = Date.now() + STOP_WAIT_MS;
    while (stopping.some((pid) => this.alive(pid)) && Date.now() < deadline) await sleep(POLL_MS);
    // Then whatever is left of everything started for the cluster, including what a SIGKILLed keeper left behind (and what a dying one forked meanwhile).
    for (let left = this.tagged(spec.key); left.length > 0 && Date.now() < deadline + STOP_WAIT_MS; left = this.tagged(spec.key)) {
      for (const pid of left) this.signal(pid, 'SIGKILL');
      await sleep(POLL_MS);
    }
    const members = [paths.monitor, ...paths.nodes];
    const logs = ['monitor', 'node0', 'node1'].map((n) => join(paths.dir, `${n}.log`));
    // `.new`: an initdb a crash interrupted.
    await Promise.all([...members, ...members.map((data) => `${data}.new`), paths.socket, paths.xdg, ...logs].map((path) => rm(path, { recursive: true, force: true })));
    for (const port of [spec.monitorPort, ...spec.nodePorts]) {
      while (!(await this.clusters.isPortFree(port)) && Date.now() < deadline + STOP_WAIT_MS) await sleep(POLL_MS);
    }
  }

  // --- creation -------------------------------------------------------------------------------

  private async initdb(data: string, paths: PremiumPaths, settings: string[]): Promise<void> {
    const fresh = `${data}.new`;
    await rm(fresh, { recursive: true, force: true });
    await this.mkdirAsPg(fresh, 0o700);
    await this.runPg(join(PG_BIN, 'initdb'), ['-D', fresh, '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '--auth-local=trust', '--auth-host=scram-sha-256'], paths);
    const conf = join(fresh, 'postgresql.conf');
    await this.writeAsPg(conf, `${await readFile(conf, 'utf8')}\ninclude_if_exists 'attache.conf'\n`);
    await this.writeAsPg(join(fresh, 'attache.conf'), [`listen_addresses = '${LOOPBACK}'`, `unix_socket_directories = '${paths.socket}'`, 'unix_socket_permissions = 0700', ...settings, ''].join('\n'));
    await this.runPg('/bin/mv', [fresh, data], paths);
  }

  /** Copied to the standby with the rest of the data directory: identical on both nodes. */
  private nodeSettings(paths: PremiumPaths): string[] {
    return [
      "password_encryption = 'scram-sha-256'",
      'max_connections = 450',
      'shared_buffers = 32MB',
      'archive_mode = on',
      `archive_command = 'test ! -f "${paths.wal}/%f" && cp "%p" "${paths.wal}/%f"'`,
      'archive_timeout = 60',
      'hot_standby_feedback = on',
      'wal_keep_size = 64MB',
    ];
  }

  /**
   * Superuser only over the socket (reachable by root and postgres alone); the replicator (a
   * superuser, for pg_rewind) for replication and pg_rewind only; everyone else, the tenant and
   * the health checks' role, with scram-sha-256. No TCP line trusts.
   */
  private nodeHba(): string[] {
    return [
      'local all all trust',
      'local replication all trust',
      `host replication ${REPLICATION_ROLE} ${LOOPBACK}/32 scram-sha-256`,
      `host postgres ${REPLICATION_ROLE} ${LOOPBACK}/32 scram-sha-256`,
      `host all ${REPLICATION_ROLE} 0.0.0.0/0 reject`,
      'host all postgres 0.0.0.0/0 reject',
      `host all all ${LOOPBACK}/32 scram-sha-256`,
    ];
  }

  private async writeHba(data: string, lines: string[]): Promise<void> {
    await this.writeAsPg(join(data, 'pg_hba.conf'), ['# Managed by Attache.', ...lines, ''].join('\n'));
  }

  /**
   * The generated passwords of the cluster's pg_auto_failover roles: read from its passfile, or
   * generated and written there (0600, postgres) when it has none yet. Every process started for
   * the cluster finds them through PGPASSFILE, so they are in no argv, URI or configuration file.
   */
  private async secrets(spec: PgPremiumSpec, paths: PremiumPaths): Promise<FormationSecrets> {
    const text = await readFile(paths.passfile, 'utf8').catch(() => null);
    if (text !== null) {
      const password = (role: string) => text.split('\n').map((line) => line.split(':')).find((fields) => fields[3] === role)?.[4];
      const monitor = password(MONITOR_ROLE);
      const replication = password(REPLICATION_ROLE);
      if (!monitor || !replication) throw new Error(`The passfile of ${spec.key} lacks pg_auto_failover's roles.`);
      return { monitor, replication };
    }
    // Hex: nothing libpq's passfile format would need escaped.
    const secrets = { monitor: randomBytes(24).toString('hex'), replication: randomBytes(24).toString('hex') };
    const lines = [
      `${LOOPBACK}:${spec.monitorPort}:pg_auto_failover:${MONITOR_ROLE}:${secrets.monitor}`,
      ...spec.nodePorts.map((port) => `${LOOPBACK}:${port}:*:${REPLICATION_ROLE}:${secrets.replication}`),
    ];
    // Synced before any role gets a password: a torn or empty passfile after a power loss would fail every later `ensure`.
    await writeFileDurably(paths.passfile, `${lines.join('\n')}\n`, { mode: 0o600, prepare: (tmp) => this.giveToPg(tmp) });
    // And `xdg/`'s own entry, made just before.
    await syncDirectory(paths.dir);
    return secrets;
  }

  /** Sets roles' passwords, as scram verifiers. */
  private async setPasswords(paths: PremiumPaths, port: number, database: string, passwords: Record<string, string>): Promise<void> {
    await this.withSuperuser(paths, port, database, async (client) => {
      for (const [role, password] of Object.entries(passwords)) {
        const found = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
        if (found.rowCount === 0) throw new Error(`Role ${role} is missing on port ${port}.`);
        await client.query(`ALTER ROLE ${ident(role)} PASSWORD ${literal(await pgScramVerifier(password))}`);
      }
    });
  }

  private async setUpTenant(spec: PgPremiumSpec, paths: PremiumPaths): Promise<void> {
    await this.withSuperuser(paths, spec.port, 'postgres', async (client) => {
      const password = `PASSWORD ${literal(await pgScramVerifier(spec.ownerPassword))}`;
      const limit = spec.connectionLimit !== undefined ? ` CONNECTION LIMIT ${Math.trunc(spec.connectionLimit)}` : '';
      const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [spec.ownerRole]);
      await client.query(`${role.rowCount === 0 ? 'CREATE' : 'ALTER'} ROLE ${ident(spec.ownerRole)} LOGIN ${password}${limit}`);
      const database = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [spec.database]);
      if (database.rowCount === 0) await client.query(`CREATE DATABASE ${ident(spec.database)} OWNER ${ident(spec.ownerRole)}`);
      await client.query(`REVOKE ALL ON DATABASE ${ident(spec.database)} FROM PUBLIC`);
      await client.query(`GRANT ALL ON DATABASE ${ident(spec.database)} TO ${ident(spec.ownerRole)}`);
    });
    await this.withSuperuser(paths, spec.port, spec.database, async (client) => {
      await client.query(`ALTER SCHEMA public OWNER TO ${ident(spec.ownerRole)}`);
      await client.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
    });
  }

  /**
   * A superuser session over the socket that leaves its statements out of the server log (the
   * monitor logs DDL) and pg_stat_statements (on the nodes): some carry password verifiers.
   */
  private async withSuperuser<T>(paths: PremiumPaths, port: number, database: string, work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ host: paths.socket, port, user: 'postgres', database, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query("SET log_statement = 'none'");
      await client.query('SET pg_stat_statements.track_utility = off');
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  // --- processes ------------------------------------------------------------------------------

  /** `pg_autoctl create ... --run` for the monitor or a node, detached: it creates what is missing and runs. */
  private async runKeeper(spec: PgPremiumSpec, paths: PremiumPaths, which: 0 | 1 | 'monitor'): Promise<void> {
    if (this.keeperAlive(paths, which)) return;
    const data = which === 'monitor' ? paths.monitor : paths.nodes[which];
    // `--listen`: pg_autoctl starts postgres with `-h <it>`, which overrides listen_addresses, and '*' by default.
    const args =
      which === 'monitor'
        ? ['create', 'monitor', '--pgdata', data, '--pgport', String(spec.monitorPort), '--hostname', LOOPBACK, '--listen', LOOPBACK, '--no-ssl', '--skip-pg-hba', '--run']
        : [
            'create', 'postgres', '--pgdata', data, '--pgport', String(spec.nodePorts[which]), '--pghost', paths.socket, '--hostname', LOOPBACK, '--listen', LOOPBACK,
            '--name', `node${which}`, '--no-ssl', '--skip-pg-hba',
            '--monitor', `postgres://autoctl_node@${LOOPBACK}:${spec.monitorPort}/pg_auto_failover?sslmode=disable`, '--run',
          ];
    const log = join(paths.dir, `${which === 'monitor' ? 'monitor' : `node${which}`}.log`);
    await writeFile(log, '', { flag: 'a', mode: 0o600 });
    await this.giveToPg(log);
    const fd = openSync(log, 'a');
    let exited: number | null = null;
    try {
      const [command, argv] = this.asRoot ? ['runuser', ['-u', 'postgres', '--', PG_AUTOCTL, ...args]] : [PG_AUTOCTL, args];
      const env = { ...this.env(paths), [NODE_TAG]: `${spec.key}/${which === 'monitor' ? 'monitor' : `node${which}`}` };
      const child = spawn(command, argv, { cwd: '/', detached: true, stdio: ['ignore', fd, fd], env });
      child.once('exit', (code) => {
        exited = code ?? -1;
      });
      child.unref();
    } finally {
      closeSync(fd);
    }
    const deadline = Date.now() + FORMATION_WAIT_MS;
    while (!this.keeperAlive(paths, which)) {
      if (await this.exists(paths.removed)) throw new FormationRemovedError(spec.key);
      if (exited !== null || Date.now() > deadline) {
        const tail = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((line) => /ERROR|FATAL/.test(line)).slice(-3).join(' ');
        throw new Error(`pg_autoctl for ${spec.key} (${which}) did not start: ${tail || `see ${log}`}`);
      }
      await sleep(POLL_MS);
    }
  }

  private async waitMonitor(spec: PgPremiumSpec): Promise<void> {
    await this.waitFor(spec, () => true, 'the monitor');
  }

  private async waitFor(spec: PgPremiumSpec, done: (state: PgPremiumState) => boolean, what: string): Promise<PgPremiumState> {
    const deadline = Date.now() + FORMATION_WAIT_MS;
    let last = '';
    for (;;) {
      try {
        const state = await this.state(spec);
        if (done(state)) return state;
        last = JSON.stringify(state.nodes.map((n) => [n.port, n.state, n.goal]));
      } catch (error) {
        last = (error as Error).message;
      }
      if (await this.exists(this.paths(spec.key).removed)) throw new FormationRemovedError(spec.key);
      if (Date.now() > deadline) throw new Error(`${spec.key} has no ${what} after ${FORMATION_WAIT_MS / 1000} s: ${last}`);
      await sleep(POLL_MS * 2);
    }
  }

  private keeperPid(paths: PremiumPaths, which: 0 | 1 | 'monitor'): number | null {
    const data = which === 'monitor' ? paths.monitor : paths.nodes[which];
    try {
      const pid = Number(readFileSync(join(paths.xdg, 'run', 'pg_autoctl', data.replace(/^\//, ''), 'pg_autoctl.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  private keeperAlive(paths: PremiumPaths, which: 0 | 1 | 'monitor'): boolean {
    const pid = this.keeperPid(paths, which);
    return pid !== null && this.alive(pid);
  }

  /** Runs and is not a zombie (see LocalPgClusterDriver). */
  private alive(pid: number): boolean {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.includes('pg_autoctl') || cmdline.includes('postgres');
    } catch {
      return false;
    }
  }

  /**
   * Live processes started for the cluster (or one of its members): the keepers and everything
   * they started carry its tag in their environment. Only pg_autoctl's own with `autoctlOnly`.
   */
  private tagged(key: string, member?: string, autoctlOnly = false): number[] {
    const tag = member ? `${NODE_TAG}=${key}/${member}\0` : `${NODE_TAG}=${key}/`;
    const pids: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const environ = readFileSync(`/proc/${name}/environ`, 'utf8');
        if (!`${environ}\0`.includes(tag)) continue;
        if (autoctlOnly && !readFileSync(`/proc/${name}/cmdline`, 'utf8').startsWith('pg_autoctl')) continue;
        if (this.alive(Number(name))) pids.push(Number(name));
      } catch {
        // Gone, or not ours to read.
      }
    }
    return pids;
  }

  private signal(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }

  private env(paths: PremiumPaths): NodeJS.ProcessEnv {
    return {
      PATH: `${PG_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      LANG: 'C.UTF-8',
      HOME: paths.xdg,
      XDG_CONFIG_HOME: join(paths.xdg, 'config'),
      XDG_DATA_HOME: join(paths.xdg, 'data'),
      XDG_RUNTIME_DIR: join(paths.xdg, 'run'),
      PG_CONFIG: join(PG_BIN, 'pg_config'),
      // Read by libpq in pg_autoctl, pg_basebackup, pg_rewind and the standby's walreceiver.
      PGPASSFILE: paths.passfile,
    };
  }

  // --- files ----------------------------------------------------------------------------------

  private paths(key: string): PremiumPaths {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(key)) throw new Error(`Invalid cluster key ${JSON.stringify(key)}`);
    const dir = join(this.options.rootDir, key);
    const xdg = join(dir, 'xdg');
    return {
      dir,
      monitor: join(dir, 'monitor'),
      nodes: [join(dir, 'node0'), join(dir, 'node1')],
      socket: join(dir, 'socket'),
      wal: join(dir, 'archive', 'wal'),
      base: join(dir, 'archive', 'base'),
      xdg,
      passfile: join(xdg, 'pgpass'),
      removed: join(dir, 'removed'),
    };
  }

  private async prepareDirs(paths: PremiumPaths): Promise<void> {
    await mkdir(this.options.rootDir, { recursive: true, mode: 0o755 });
    for (const dir of [paths.dir, paths.socket, join(paths.dir, 'archive'), paths.wal, paths.base, paths.xdg, join(paths.xdg, 'config'), join(paths.xdg, 'data'), join(paths.xdg, 'run')]) {
      await this.mkdirAsPg(dir, 0o700);
    }
  }

  /** The `removed` mark, on disk (synced, with the entries leading to it) before the formation is touched. */
  private async markRemoved(paths: PremiumPaths): Promise<void> {
    if (await this.exists(paths.removed)) return;
    await mkdir(this.options.rootDir, { recursive: true, mode: 0o755 });
    await this.mkdirAsPg(paths.dir, 0o700);
    await writeFileDurably(paths.removed, `${new Date().toISOString()}\n`, { mode: 0o600 });
    await syncDirectory(this.options.rootDir);
  }

  /**
   * Runs `work` alone for the formation: after this process's earlier operations on it, and
   * holding the machine's lock of its directory, so another worker cannot start the formation
   * while this one removes it (or the reverse). The lock's name is LocalPgClusterDriver's for the
   * same directory: its `purgeArchive` removes the whole directory, premium or not.
   */
  private locked<T>(paths: PremiumPaths, work: () => Promise<T>): Promise<T> {
    return this.locks.run(clusterLockName(paths.dir), work);
  }

  private async runPg(bin: string, args: string[], paths: PremiumPaths): Promise<void> {
    const [command, argv] = this.asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
    try {
      await execFileAsync(command, argv, { cwd: '/', timeout: FORMATION_WAIT_MS, env: this.env(paths) });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`${bin} failed: ${stderr.trim().split('\n').slice(-4).join(' ') || (error as Error).message}`);
    }
  }

  private async mkdirAsPg(path: string, mode: number): Promise<void> {
    await mkdir(path, { recursive: true, mode });
    await this.giveToPg(path);
  }

  private async writeAsPg(path: string, text: string): Promise<void> {
    await writeFile(path, text, { mode: 0o600 });
    await this.giveToPg(path);
  }

  private pgUser?: Promise<{ uid: number; gid: number }>;
  private async giveToPg(path: string): Promise<void> {
    if (!this.asRoot) return;
    this.pgUser ??= execFileAsync('id', ['-u', 'postgres']).then(async ({ stdout: uid }) => ({ uid: Number(uid.trim()), gid: Number((await execFileAsync('id', ['-g', 'postgres'])).stdout.trim()) }));
    const { uid, gid } = await this.pgUser;
    await chown(path, uid, gid);
  }

  private async exists(path: string): Promise<boolean> {
    return stat(path).then(
      () => true,
      () => false,
    );
  }
}
