import { EntityManager } from 'typeorm';
import { DedicatedCluster, DedicatedClusterRepository } from '@app/domain';

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

const toCluster = (row: ClusterRow): DedicatedCluster => {
  const cluster = {} as Record<keyof DedicatedCluster, unknown>;
  for (const field of FIELDS) cluster[field] = row[COLUMNS[field]];
  return cluster as unknown as DedicatedCluster;
};

/** Port choices on one host, one at a time (transaction-scoped, so a crash releases it). */
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

/** `postgres_dedicated_clusters` (migration PostgresDedicated1764790000000). */
export class TypeOrmDedicatedClusters extends DedicatedClusterRepository {
  constructor(private readonly manager: EntityManager) {
    super();
  }

  async findByAddon(addonId: string): Promise<DedicatedCluster | null> {
    const rows: ClusterRow[] = await this.manager.query('SELECT * FROM postgres_dedicated_clusters WHERE addon_id = $1', [addonId]);
    return rows[0] ? toCluster(rows[0]) : null;
  }

  async createIfPortFree(cluster: DedicatedCluster): Promise<boolean> {
    const columns = FIELDS.map((field) => COLUMNS[field]);
    const values = FIELDS.map((field) => cluster[field]);
    return this.manager.transaction(async (tx) => {
      await lockHostPorts(tx, cluster.host);
      // The unique index covers first ports; a premium cluster's other two are checked here, under the host's lock.
      const taken = cluster.port !== null && (await portsInUse(tx, cluster.host)).includes(cluster.port);
      if (taken) return false;
      // DO NOTHING covers both the add-on's own row and the (host, port) index.
      const rows: unknown[] = await tx.query(
        `INSERT INTO postgres_dedicated_clusters (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})
         ON CONFLICT DO NOTHING RETURNING addon_id`,
        values,
      );
      return rows.length === 1;
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
}
