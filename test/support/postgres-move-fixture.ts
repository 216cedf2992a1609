import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { Client } from 'pg';
import { localPostgresClusters } from '@app/config';
import { tenantNames } from '@app/domain';
import { AttacheHarness } from './attache-harness';

const PG_CTL = '/usr/lib/postgresql/15/bin/pg_ctl';
const asPg = (args: string[]) => (process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', ...args]] : [args[0], args.slice(1)]) as [string, string[]];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

export type MovedAddonBody = { state: string; pending_plan: { name: string } | null; plan_change_error: string | null; plan: { name: string } };

/**
 * Attache with shared and dedicated PostgreSQL, one developer and one app, for scenarios that
 * move a shared-plan add-on to a dedicated plan (docs/postgresql.md) on real clusters.
 */
export class PgMoveFixture {
  private readonly clients: Client[] = [];

  private constructor(
    readonly attache: AttacheHarness,
    readonly root: string,
    readonly portMin: number,
    readonly dev: { apiKey: string },
    readonly app: { id: string; name: string },
  ) {}

  /** Dedicated clusters under a directory of their own, on the 30 ports from `portMin`. */
  static async start(portMin: number): Promise<PgMoveFixture> {
    const root = join(tmpdir(), `attache-test-pg-move-${randomBytes(4).toString('hex')}`);
    const attache = await AttacheHarness.start({
      postgres: true,
      env: {
        ATTACHE_PG_DEDICATED_DIR: root,
        ATTACHE_PG_DEDICATED_PORTS: `${portMin}-${portMin + 29}`,
        ATTACHE_PG_DEDICATED_SUPERVISE_INTERVAL_MS: '300',
        ATTACHE_PG_DEDICATED_ARCHIVE_CHECK_INTERVAL_MS: '500',
        ATTACHE_PG_DEDICATED_ARCHIVE_RETENTION_MS: '0',
        PROVIDER_TIMEOUT_MS: '30000',
      },
    });
    const dev = await attache.createAccount('pgmove');
    const app = await attache.createApp(dev.apiKey);
    return new PgMoveFixture(attache, root, portMin, dev, app);
  }

  /** Ends the connections the scenario opened. */
  async endClients(): Promise<void> {
    await Promise.allSettled(this.clients.splice(0).map((c) => c.end()));
  }

  async stop(): Promise<void> {
    await this.endClients();
    await this.attache.stop();
    // Clusters a failed test left running outlive the file otherwise.
    for (const key of existsSync(this.root) ? readdirSync(this.root) : []) {
      const data = join(this.root, key, 'data');
      if (existsSync(join(data, 'postmaster.pid'))) {
        const [command, args] = asPg([PG_CTL, '-D', data, '-m', 'immediate', '-w', 'stop']);
        try {
          execFileSync(command, args, { cwd: '/', stdio: 'ignore' });
        } catch {
          // already stopped
        }
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }

  /** A connection closed when the scenario ends. */
  async connect(url: string): Promise<Client> {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    this.clients.push(client);
    await client.connect();
    return client;
  }

  api() {
    return this.attache.client(this.dev.apiKey);
  }

  async provision(alias: string): Promise<{ id: string; name: string; url: string }> {
    const created = await this.api().post(`/apps/${this.app.name}/addons`).send({ plan: 'postgresql:essential-0', attachment: { name: alias } });
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
    const addon = await this.attache.waitForAddon(this.dev.apiKey, created.body.id, (a) => a.state === 'provisioned' || a.state === 'deprovisioned', 90_000);
    if (addon.state !== 'provisioned') throw new Error(`provisioning failed: ${JSON.stringify(addon)}`);
    return { id: created.body.id, name: created.body.name, url: await this.urlOf(alias) };
  }

  async urlOf(alias: string): Promise<string> {
    return (await this.attache.configVars(this.dev.apiKey, this.app.name))[`${alias}_URL`];
  }

  changePlan(addonId: string, plan: string) {
    return this.api().patch(`/apps/${this.app.name}/addons/${addonId}`).send({ plan });
  }

  /** Waits until the change is no longer pending (moved, or refused with a reason). */
  async settled(addonId: string, timeoutMs = 120_000): Promise<MovedAddonBody> {
    return (await this.attache.waitForAddon(this.dev.apiKey, addonId, (a) => a.pending_plan === null, timeoutMs)) as unknown as MovedAddonBody;
  }

  /**
   * A tenant that ignores a move's read-only window: each of its sessions turns read-only off, then
   * it inserts into `notes` every 20 ms (reconnecting after any error) until stopped. It keeps the
   * writes acknowledged, and counts those made by sessions that started read-only (in the window).
   */
  writeDefiantly(url: string): { acknowledged: string[]; inWindow: () => number; stop: () => Promise<void> } {
    const acknowledged: string[] = [];
    let inWindow = 0;
    let stopped = false;
    const writing = (async () => {
      let client: Client | null = null;
      let readOnlySession = false;
      for (let n = 0; !stopped; n++) {
        try {
          if (!client) {
            client = await this.connect(url);
            readOnlySession = (await client.query('SHOW default_transaction_read_only')).rows[0].default_transaction_read_only === 'on';
            await client.query('SET default_transaction_read_only = off');
          }
          await client.query('INSERT INTO notes (body) VALUES ($1)', [`write ${n}`]);
          acknowledged.push(`write ${n}`);
          if (readOnlySession) inWindow++;
        } catch {
          await client?.end().catch(() => undefined);
          client = null;
        }
        await sleep(20);
      }
    })();
    return {
      acknowledged,
      inWindow: () => inWindow,
      stop: async () => {
        stopped = true;
        await writing;
      },
    };
  }

  async notes(url: string): Promise<string[]> {
    return (await (await this.connect(url)).query<{ body: string }>('SELECT body FROM notes ORDER BY id')).rows.map((r) => r.body);
  }

  /** Attache's superuser on the shared cluster that holds (or held) the add-on's database. */
  async sharedAdmin(addonId: string): Promise<{ client: Client; database: string }> {
    const { rows } = await this.attache.pg.query<{ name: string; database_name: string }>(
      'SELECT b.name, d.database_name FROM postgres_databases d JOIN postgres_backends b ON b.id = d.backend_id WHERE d.addon_id = $1',
      [addonId],
    );
    const cluster = localPostgresClusters().find((c) => c.name === rows[0].name)!;
    const client = new Client({ host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database: 'postgres' });
    client.on('error', () => undefined);
    this.clients.push(client);
    await client.connect();
    return { client, database: rows[0].database_name };
  }

  /** Attache's superuser inside the add-on's shared database. */
  async sharedSuperuser(addonId: string): Promise<Client> {
    const { client: admin, database } = await this.sharedAdmin(addonId);
    const client = new Client({ host: admin.host, port: admin.port, user: admin.user, password: admin.password as string, database });
    client.on('error', () => undefined);
    this.clients.push(client);
    await client.connect();
    return client;
  }

  /** Nothing of the add-on's shared database is left on its cluster: no database, no role named after the tenant. */
  async expectSharedGone(addonId: string): Promise<void> {
    const { client, database } = await this.sharedAdmin(addonId);
    const names = tenantNames(addonId);
    const databases = await client.query('SELECT datname FROM pg_database WHERE datname = $1', [database]);
    const roles = await client.query('SELECT rolname FROM pg_roles WHERE rolname = ANY($1) OR starts_with(rolname, $2)', [[names.ownerRole, names.groupRole], `${names.ownerRole}_`]);
    expect({ databases: databases.rows, roles: roles.rows }).toEqual({ databases: [], roles: [] });
    const { rows } = await this.attache.pg.query('SELECT state FROM postgres_databases WHERE addon_id = $1', [addonId]);
    expect(rows).toEqual([{ state: 'dropped' }]);
  }

  /**
   * Holds the add-on's row from another session, so the worker's switch (which locks it) waits
   * there: after the copy and the seal, before the commit. Resolves once the worker is waiting.
   */
  async holdTheSwitch(addonId: string): Promise<{ holder: number; waiting: number; release: () => Promise<void> }> {
    const { client: admin, database } = await this.sharedAdmin(addonId);
    const lock = await this.connect(this.attache.env.DATABASE_URL);
    await lock.query('BEGIN');
    // Not FOR UPDATE: the foreign keys of rows the move inserts meanwhile (its cluster's) take KEY SHARE locks on it.
    await lock.query('SELECT 1 FROM addons WHERE id = $1 FOR NO KEY UPDATE', [addonId]);
    const own = (await lock.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const deadline = Date.now() + 120_000;
    for (;;) {
      // Asked outside the lock's transaction, whose view of pg_stat_activity would stay as first read.
      const blocked = await this.blockedBy(own);
      const sealed = (await admin.query<{ datconnlimit: number }>('SELECT datconnlimit FROM pg_database WHERE datname = $1', [database])).rows[0]?.datconnlimit === 0;
      const switching = blocked.filter((b) => b.query.startsWith('SELECT "a"."id"'));
      if (sealed && switching.length === 1) return { holder: own, waiting: switching[0].pid, release: async () => void (await lock.query('ROLLBACK')) };
      if (Date.now() > deadline) {
        const addon = (await this.attache.pg.query('SELECT plan_id, pending_plan_id, plan_change_error FROM addons WHERE id = $1', [addonId])).rows[0];
        throw new Error(`The switch did not wait for the add-on's row (sealed: ${sealed}; blocked: ${JSON.stringify(blocked)}; add-on: ${JSON.stringify(addon)})`);
      }
      await sleep(100);
    }
  }

  /**
   * The add-on has no dedicated cluster (a move that gave up removed its own), and nothing of a
   * cluster lingers on the machine: every directory under the root is a cluster still recorded
   * (active, or removed and waiting for its archive's purge), and every port of the range that
   * takes connections is an active cluster's.
   */
  async expectNoClusterLeft(addonId: string): Promise<void> {
    await this.attache.waitUntil(
      'the cluster of the move to be gone',
      async () => ((await this.attache.pg.query('SELECT 1 FROM postgres_dedicated_clusters WHERE addon_id = $1', [addonId])).rowCount ? undefined : true),
      60_000,
    );
    const records = (await this.attache.pg.query<{ key: string; state: string; port: number | null }>('SELECT key, state, port FROM postgres_dedicated_clusters')).rows;
    const recorded = new Set(records.filter((r) => r.state !== 'purged').map((r) => r.key));
    const strayDirs = (existsSync(this.root) ? readdirSync(this.root) : []).filter((key) => !recorded.has(key));
    const live = new Set(records.filter((r) => r.state === 'active').map((r) => r.port));
    const strayPorts: number[] = [];
    for (let port = this.portMin; port < this.portMin + 30; port++) if (!live.has(port) && (await listening(port))) strayPorts.push(port);
    expect({ strayDirs, strayPorts }).toEqual({ strayDirs: [], strayPorts: [] });
  }

  /** Sessions of Attache's database waiting for a lock the session `pid` holds. */
  async blockedBy(pid: number): Promise<{ pid: number; query: string }[]> {
    return (await this.attache.pg.query<{ pid: number; query: string }>('SELECT pid, left(query, 100) AS query FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid])).rows;
  }
}
