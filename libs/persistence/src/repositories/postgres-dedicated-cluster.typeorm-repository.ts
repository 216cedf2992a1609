import { EntityManager } from 'typeorm';
import { DedicatedCluster, DedicatedClusterRepository, DedicatedHost, DedicatedHostState } from '@app/domain';

interface ClusterRow {
  addon_id: string;
  host: string;
  key: string;
  port: number | null;
  state: DedicatedCluster['state'];
  origin: DedicatedCluster['origin'];
  source_addon_id: string | null;
  following: boolean;
  recovery_target_at: Date | null;
  database_name: string;
  owner_role: string;
  owner_password_sealed: string;
  last_base_backup_at: Date | null;
  archive_keep_until: Date | null;
  created_at: Date;
  updated_at: Date;
  removed_at: Date | null;
  premium_ports: number[] | null;
  last_failover_at: Date | null;
}

const COLUMNS: Record<keyof DedicatedCluster, keyof ClusterRow> = {
  addonId: 'addon_id',
  host: 'host',
  key: 'key',
  port: 'port',
  state: 'state',
  origin: 'origin',
  sourceAddonId: 'source_addon_id',
  following: 'following',
  recoveryTargetAt: 'recovery_target_at',
  databaseName: 'database_name',
  ownerRole: 'owner_role',
  ownerPasswordSealed: 'owner_password_sealed',
  lastBaseBackupAt: 'last_base_backup_at',
  archiveKeepUntil: 'archive_keep_until',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  removedAt: 'removed_at',
  premiumPorts: 'premium_ports',
  lastFailoverAt: 'last_failover_at',
};

const FIELDS = Object.keys(COLUMNS) as (keyof DedicatedCluster)[];

interface HostRow {
  name: string;
  driver: DedicatedHost['driver'];
  address: string;
  port_min: number;
  port_max: number;
  capacity: number;
  state: DedicatedHostState;
  created_at: Date;
  updated_at: Date;
}

const toHost = (row: HostRow): DedicatedHost => ({
  name: row.name,
  driver: row.driver,
  address: row.address,
  portMin: row.port_min,
  portMax: row.port_max,
  capacity: row.capacity,
  state: row.state,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** Live clusters (those holding a port) per host, as a lateral subquery on `h`. */
const LOAD = 'CROSS JOIN LATERAL (SELECT count(*)::int AS clusters FROM postgres_dedicated_clusters d WHERE d.host = h.name AND d.port IS NOT NULL) load';

const toCluster = (row: ClusterRow): DedicatedCluster => {
  const cluster = {} as Record<keyof DedicatedCluster, unknown>;
  for (const field of FIELDS) cluster[field] = row[COLUMNS[field]];
  return cluster as unknown as DedicatedCluster;
};

/**
 * Port choices on one host, one at a time (transaction-scoped, so a crash releases it). Taken
 * after the host's row lock by whoever takes both (`place`, `createIfPortFree`), so they never
 * deadlock; `reservePremiumPorts` takes only this one.
 */
async function lockHostPorts(tx: EntityManager, host: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('attache.pg-dedicated-ports'), hashtext($1))", [host]);
}

/** Ports held by the host's live clusters: a premium cluster holds its monitor's and both nodes'. */
async function portsInUse(manager: EntityManager, host: string): Promise<number[]> {
  const rows: { port: number }[] = await manager.query(
    "SELECT DISTINCT unnest(array_append(COALESCE(premium_ports, '{}'), port)) AS port FROM postgres_dedicated_clusters WHERE host = $1 AND port IS NOT NULL",
    [host],
  );
  return rows.map((row) => row.port);
}

/** Inserts the cluster's row; false when the add-on has one already or its (host, port) is taken. */
async function insertCluster(tx: EntityManager, cluster: DedicatedCluster): Promise<boolean> {
  const columns = FIELDS.map((field) => COLUMNS[field]);
  // DO NOTHING covers both the add-on's own row and the (host, port) index.
  const rows: unknown[] = await tx.query(
    `INSERT INTO postgres_dedicated_clusters (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})
     ON CONFLICT DO NOTHING RETURNING addon_id`,
    FIELDS.map((field) => cluster[field]),
  );
  return rows.length === 1;
}

/**
 * `postgres_dedicated_clusters` (migrations PostgresDedicated1764790000000, PostgresPremium1764795000000)
 * and `postgres_dedicated_hosts` (PostgresDedicatedHosts1764830000000).
 */
export class TypeOrmDedicatedClusters extends DedicatedClusterRepository {
  constructor(private readonly manager: EntityManager) {
    super();
  }

  async findByAddon(addonId: string): Promise<DedicatedCluster | null> {
    const rows: ClusterRow[] = await this.manager.query('SELECT * FROM postgres_dedicated_clusters WHERE addon_id = $1', [addonId]);
    return rows[0] ? toCluster(rows[0]) : null;
  }

  async createIfPortFree(cluster: DedicatedCluster): Promise<boolean> {
    return this.manager.transaction(async (tx) => {
      const [host]: HostRow[] = await tx.query('SELECT * FROM postgres_dedicated_hosts WHERE name = $1 FOR UPDATE', [cluster.host]);
      if (!host) throw new Error(`Dedicated PostgreSQL host ${cluster.host} is not registered.`);
      await lockHostPorts(tx, cluster.host);
      // Counted after the lock, in a statement of its own: its snapshot sees every placement that held the lock before.
      const [{ clusters }]: { clusters: number }[] = await tx.query(
        'SELECT count(*)::int AS clusters FROM postgres_dedicated_clusters WHERE host = $1 AND port IS NOT NULL',
        [cluster.host],
      );
      if (host.state !== 'active' || clusters >= host.capacity) return false;
      // The unique index covers first ports; a premium cluster's other two are checked here, under the host's lock.
      const taken = cluster.port !== null && (await portsInUse(tx, cluster.host)).includes(cluster.port);
      if (taken) return false;
      return insertCluster(tx, cluster);
    });
  }

  async place(record: Omit<DedicatedCluster, 'host' | 'port'>, isPortFree: (host: DedicatedHost, port: number) => Promise<boolean>): Promise<DedicatedCluster | null> {
    return this.manager.transaction(async (tx) => {
      // Every active host is locked (in one order, so placements never deadlock), and only then
      // counted, in a later statement: its snapshot sees the clusters of any placement that held
      // the locks before. Counting in the locking statement would miss them.
      const locked: { name: string }[] = await tx.query("SELECT name FROM postgres_dedicated_hosts WHERE state = 'active' ORDER BY name FOR UPDATE");
      const existing: ClusterRow[] = await tx.query('SELECT * FROM postgres_dedicated_clusters WHERE addon_id = $1', [record.addonId]);
      if (existing[0]) return toCluster(existing[0]);
      const candidates: HostRow[] = await tx.query(
        `SELECT h.* FROM postgres_dedicated_hosts h ${LOAD}
          WHERE h.name = ANY($1) AND h.state = 'active' AND load.clusters < h.capacity
          ORDER BY load.clusters::numeric / h.capacity, load.clusters, h.name`,
        [locked.map((row) => row.name)],
      );
      for (const row of candidates) {
        const host = toHost(row);
        await lockHostPorts(tx, host.name);
        const inUse = new Set(await portsInUse(tx, host.name));
        for (let port = host.portMin; port <= host.portMax; port++) {
          if (inUse.has(port) || !(await isPortFree(host, port))) continue;
          const cluster: DedicatedCluster = { ...record, host: host.name, port };
          if (await insertCluster(tx, cluster)) return cluster;
          // Only the add-on's own row, recorded meanwhile by a placement that did not wait for these locks, can be in the way.
          const [recorded]: ClusterRow[] = await tx.query('SELECT * FROM postgres_dedicated_clusters WHERE addon_id = $1', [record.addonId]);
          if (recorded) return toCluster(recorded);
          throw new Error(`Port ${port} of dedicated PostgreSQL host ${host.name} was taken under its lock.`);
        }
      }
      return null;
    });
  }

  async reservePremiumPorts(addonId: string, host: string, firstNodePort: number, candidates: number[]): Promise<number[] | null> {
    return this.manager.transaction(async (tx) => {
      await lockHostPorts(tx, host);
      const inUse = new Set(await portsInUse(tx, host));
      const extra = candidates.filter((port) => !inUse.has(port)).slice(0, 2);
      if (extra.length < 2) return null;
      const ports = [extra[0], firstNodePort, extra[1]];
      await tx.query('UPDATE postgres_dedicated_clusters SET premium_ports = $2, updated_at = now() WHERE addon_id = $1', [addonId, ports]);
      return ports;
    });
  }

  async portsInUse(host: string): Promise<number[]> {
    return portsInUse(this.manager, host);
  }

  async update(addonId: string, patch: Partial<DedicatedCluster>): Promise<void> {
    const fields = (Object.keys(patch) as (keyof DedicatedCluster)[]).filter((field) => field in COLUMNS && field !== 'addonId');
    if (fields.length === 0) return;
    await this.manager.query(
      `UPDATE postgres_dedicated_clusters SET ${fields.map((field, i) => `${COLUMNS[field]} = $${i + 2}`).join(', ')} WHERE addon_id = $1`,
      [addonId, ...fields.map((field) => patch[field])],
    );
  }

  async forget(addonId: string): Promise<boolean> {
    // As a SELECT over the deleted rows: a plain DELETE comes back from TypeORM as [rows, count].
    const [{ deleted }]: { deleted: number }[] = await this.manager.query(
      "WITH gone AS (DELETE FROM postgres_dedicated_clusters WHERE addon_id = $1 AND state = 'purged' RETURNING 1) SELECT count(*)::int AS deleted FROM gone",
      [addonId],
    );
    return deleted === 1;
  }

  async listActive(): Promise<DedicatedCluster[]> {
    const rows: ClusterRow[] = await this.manager.query("SELECT * FROM postgres_dedicated_clusters WHERE state = 'active' ORDER BY created_at");
    return rows.map(toCluster);
  }

  async listFollowers(sourceAddonId: string): Promise<DedicatedCluster[]> {
    const rows: ClusterRow[] = await this.manager.query(
      "SELECT * FROM postgres_dedicated_clusters WHERE source_addon_id = $1 AND following AND state = 'active' ORDER BY created_at",
      [sourceAddonId],
    );
    return rows.map(toCluster);
  }

  async listDependents(sourceAddonId: string): Promise<DedicatedCluster[]> {
    const rows: ClusterRow[] = await this.manager.query(
      "SELECT * FROM postgres_dedicated_clusters WHERE source_addon_id = $1 AND state = 'active' ORDER BY created_at",
      [sourceAddonId],
    );
    return rows.map(toCluster);
  }

  async listArchivesDue(now: Date): Promise<DedicatedCluster[]> {
    const rows: ClusterRow[] = await this.manager.query(
      "SELECT * FROM postgres_dedicated_clusters WHERE state = 'removed' AND archive_keep_until <= $1 ORDER BY archive_keep_until LIMIT 100",
      [now],
    );
    return rows.map(toCluster);
  }

  async upsertHost(host: DedicatedHost): Promise<DedicatedHost> {
    const [row]: HostRow[] = await this.manager.query(
      `INSERT INTO postgres_dedicated_hosts (name, driver, address, port_min, port_max, capacity, state, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (name) DO UPDATE SET driver = EXCLUDED.driver, address = EXCLUDED.address, port_min = EXCLUDED.port_min, port_max = EXCLUDED.port_max,
         capacity = EXCLUDED.capacity, state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
       RETURNING *`,
      [host.name, host.driver, host.address, host.portMin, host.portMax, host.capacity, host.state, host.createdAt, host.updatedAt],
    );
    return toHost(row);
  }

  async findHost(name: string): Promise<DedicatedHost | null> {
    const rows: HostRow[] = await this.manager.query('SELECT * FROM postgres_dedicated_hosts WHERE name = $1', [name]);
    return rows[0] ? toHost(rows[0]) : null;
  }

  async listHostsWithLoad(): Promise<{ host: DedicatedHost; clusters: number }[]> {
    const rows: (HostRow & { clusters: number })[] = await this.manager.query(`SELECT h.*, load.clusters FROM postgres_dedicated_hosts h ${LOAD} ORDER BY h.name`);
    return rows.map((row) => ({ host: toHost(row), clusters: row.clusters }));
  }

  async setHostState(name: string, state: DedicatedHostState, at: Date): Promise<DedicatedHost | null> {
    const [rows]: [HostRow[], number] = await this.manager.query('UPDATE postgres_dedicated_hosts SET state = $2, updated_at = $3 WHERE name = $1 RETURNING *', [name, state, at]);
    return rows[0] ? toHost(rows[0]) : null;
  }
}
