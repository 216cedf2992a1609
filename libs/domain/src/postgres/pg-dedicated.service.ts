import { Injectable, Logger } from '@nestjs/common';
import { Clock, InvalidInputError, NotFoundError, SecretBox } from '@app/common';
import { Addon, Plan } from '../shared/models';
import { Store } from '../shared/store.port';
import { AddonAccess } from '../addons/addon-access';
import { PgClusterDriver } from './pg-cluster-driver.port';
import { DedicatedCluster, PgArchiveKeep, PgClusterSpec, PgClusterStatus, PgReplicationLag } from './pg-dedicated.models';
import { PgDedicatedOptions } from './pg-dedicated.options';
import { DedicatedClusterRepository } from './pg-dedicated.repository';
import { PgDedicatedSources, RollbackWindow } from './pg-dedicated-sources';
import { PgPremiumFailovers, PremiumStandbyInfo } from './pg-premium-failovers';

/** What the driver needs to run the cluster, with the owner's password opened. */
export function dedicatedSpec(cluster: DedicatedCluster, box: SecretBox): PgClusterSpec {
  if (cluster.port === null) throw new Error(`The cluster of add-on ${cluster.addonId} has no port.`);
  return { key: cluster.key, port: cluster.port, database: cluster.databaseName, ownerRole: cluster.ownerRole, ownerPassword: box.open(cluster.ownerPasswordSealed) };
}

export interface DedicatedInfo {
  addon: Addon;
  plan: Plan;
  cluster: DedicatedCluster;
  status: PgClusterStatus;
  window: RollbackWindow | null;
  following: { addon: string; lag: PgReplicationLag | null } | null;
  followers: { addon: string; lag: PgReplicationLag | null }[];
  /** A premium cluster's standby and last failover; null without a standby. */
  standby: PremiumStandbyInfo | null;
}

/**
 * A rollback still being made restores its source's base backup and replays its WAL; the first
 * base backup of its own marks it done (as it does every new cluster).
 */
const rollingBack = (cluster: DedicatedCluster): boolean => cluster.origin === 'rollback' && cluster.lastBaseBackupAt === null && cluster.recoveryTargetAt !== null;

/** Info and operations of dedicated PostgreSQL add-ons, and the worker's upkeep of their clusters. */
@Injectable()
export class PgDedicatedService {
  private readonly logger = new Logger(PgDedicatedService.name);
  /** Clusters that failed to start, and when to try again. */
  private readonly backoff = new Map<string, { failures: number; nextAt: number }>();

  constructor(
    private readonly store: Store,
    private readonly access: AddonAccess,
    private readonly clusters: DedicatedClusterRepository,
    private readonly driver: PgClusterDriver,
    private readonly sources: PgDedicatedSources,
    private readonly options: PgDedicatedOptions,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly premium: PgPremiumFailovers,
  ) {}

  async info(accountId: string, addonRef: string): Promise<DedicatedInfo> {
    const addon = await this.access.viewable(accountId, addonRef);
    const { cluster, plan } = await this.load(addon);
    const status = await this.driver.status(dedicatedSpec(cluster, this.box));
    const window = cluster.following ? null : await this.sources.window({ addon, plan, cluster }, this.clock.now());
    let following: DedicatedInfo['following'] = null;
    if (cluster.following && cluster.sourceAddonId) {
      const primary = await this.clusters.findByAddon(cluster.sourceAddonId);
      const source = await this.store.addons.findById(cluster.sourceAddonId);
      following = { addon: source?.name ?? cluster.sourceAddonId, lag: primary ? await this.lag(cluster, primary) : null };
    }
    const followers: DedicatedInfo['followers'] = [];
    for (const follower of await this.clusters.listFollowers(addon.id)) {
      const followerAddon = await this.store.addons.findById(follower.addonId);
      followers.push({ addon: followerAddon?.name ?? follower.addonId, lag: await this.lag(follower, cluster) });
    }
    const standby = cluster.premiumPorts ? await this.premium.standby(cluster) : null;
    return { addon, plan, cluster, status, window, following, followers, standby };
  }

  /** Makes a follower writable and independent of its primary; its own rollback window starts now. */
  async unfollow(accountId: string, addonRef: string): Promise<DedicatedInfo> {
    const addon = await this.access.manageable(accountId, addonRef);
    const { cluster } = await this.load(addon);
    if (!cluster.following) throw new InvalidInputError(`${addon.name} is not following another database.`, 'not_following');
    const spec = dedicatedSpec(cluster, this.box);
    await this.driver.promote(spec);
    await this.clusters.update(addon.id, { following: false, updatedAt: this.clock.now() });
    const backup = await this.driver.takeBaseBackup(spec);
    await this.clusters.update(addon.id, { lastBaseBackupAt: backup.finishedAt, updatedAt: this.clock.now() });
    return this.info(accountId, addon.id);
  }

  /**
   * Supervision: every cluster of a provisioned add-on runs; a dead one is started again (with
   * growing pauses while it keeps failing). Running ones are adopted as they are. A cluster a
   * deprovision began to remove meanwhile (in another worker) is left alone: the driver never
   * starts it again.
   */
  async supervise(): Promise<{ checked: number; restarted: number; failed: number }> {
    const result = { checked: 0, restarted: 0, failed: 0 };
    const now = this.clock.now().getTime();
    for (const cluster of await this.clusters.listActive()) {
      // Premium clusters are supervised with their failover monitor (PgPremiumFailovers).
      if (cluster.port === null || cluster.premiumPorts) continue;
      if ((this.backoff.get(cluster.addonId)?.nextAt ?? 0) > now) continue;
      const spec = dedicatedSpec(cluster, this.box);
      result.checked++;
      if (await this.driver.isHealthy(spec).catch(() => false)) {
        this.backoff.delete(cluster.addonId);
        continue;
      }
      // A provision still under way builds its own cluster; only finished ones are restarted.
      const addon = await this.store.addons.findById(cluster.addonId);
      if (!addon || addon.state !== 'provisioned') continue;
      try {
        const outcome = await this.driver.start(spec);
        this.backoff.delete(cluster.addonId);
        if (outcome === 'removed') continue;
        result.restarted++;
        this.logger.warn({ addonId: cluster.addonId }, 'dedicated PostgreSQL cluster was not running; started it');
      } catch (error) {
        const failures = (this.backoff.get(cluster.addonId)?.failures ?? 0) + 1;
        this.backoff.set(cluster.addonId, { failures, nextAt: now + Math.min(2 ** failures * 500, 60_000) });
        result.failed++;
        this.logger.warn({ addonId: cluster.addonId, err: (error as Error).message }, 'dedicated PostgreSQL cluster could not be started');
      }
    }
    return result;
  }

  /**
   * Archive upkeep: a base backup of every primary whose last one is older than the interval,
   * base backups and WAL no rollback, follower or rollback in progress can need any more deleted,
   * and the archives of destroyed add-ons removed once their retention is over (unless a rollback
   * from one is still being made).
   */
  async maintainArchives(): Promise<{ backups: number; purged: number; failed: number }> {
    const result = { backups: 0, purged: 0, failed: 0 };
    for (const cluster of await this.clusters.listActive()) {
      if (cluster.following || cluster.port === null) continue;
      const addon = await this.store.addons.findWithCatalog(cluster.addonId);
      if (!addon || addon.addon.state !== 'provisioned') continue;
      try {
        const now = this.clock.now();
        if (!cluster.lastBaseBackupAt || now.getTime() - cluster.lastBaseBackupAt.getTime() >= this.options.baseBackupIntervalMs) {
          const backup = await this.driver.takeBaseBackup(dedicatedSpec(cluster, this.box));
          await this.clusters.update(cluster.addonId, { lastBaseBackupAt: backup.finishedAt, updatedAt: this.clock.now() });
          result.backups++;
        }
        const window = await this.sources.window({ addon: addon.addon, plan: addon.plan, cluster }, now);
        if (window.earliest) await this.driver.pruneArchive(cluster.key, await this.archiveKeep(cluster, window.earliest));
      } catch (error) {
        result.failed++;
        this.logger.warn({ addonId: cluster.addonId, err: (error as Error).message }, 'dedicated PostgreSQL base backup failed');
      }
    }
    for (const cluster of await this.clusters.listArchivesDue(this.clock.now())) {
      // One archive that cannot go (its cluster not fully removed) must not hold up the others.
      try {
        if ((await this.clusters.listDependents(cluster.addonId)).some(rollingBack)) continue;
        await this.driver.purgeArchive(cluster.key);
        await this.clusters.update(cluster.addonId, { state: 'purged', updatedAt: this.clock.now() });
        result.purged++;
      } catch (error) {
        result.failed++;
        this.logger.warn({ addonId: cluster.addonId, err: (error as Error).message }, 'dedicated PostgreSQL archive could not be purged');
      }
    }
    return result;
  }

  /**
   * What pruning the cluster's archive keeps beyond the rollback window: the base backup and WAL
   * a rollback from it still being made restores, and the WAL its followers replay.
   */
  private async archiveKeep(cluster: DedicatedCluster, earliest: Date): Promise<PgArchiveKeep> {
    const dependents = await this.clusters.listDependents(cluster.addonId);
    const targets = dependents.filter(rollingBack).map((d) => d.recoveryTargetAt!.getTime());
    return {
      from: new Date(Math.min(earliest.getTime(), ...targets)),
      replayers: dependents.filter((d) => d.following).map((d) => d.key),
    };
  }

  private async lag(follower: DedicatedCluster, primary: DedicatedCluster): Promise<PgReplicationLag | null> {
    if (follower.port === null || primary.port === null) return null;
    return this.driver.lag(dedicatedSpec(follower, this.box), dedicatedSpec(primary, this.box)).catch(() => null);
  }

  private async load(addon: Addon): Promise<{ cluster: DedicatedCluster; plan: Plan }> {
    const found = await this.store.addons.findWithCatalog(addon.id);
    const cluster = await this.clusters.findByAddon(addon.id);
    if (!found || found.service.provider !== 'postgres' || !cluster) throw new NotFoundError('add_on', `${addon.name} is not a dedicated PostgreSQL add-on.`);
    if (addon.state !== 'provisioned' || cluster.state !== 'active') {
      throw new InvalidInputError(`${addon.name} is ${addon.state === 'provisioned' ? 'not available' : addon.state}; try again once it is provisioned.`, 'addon_not_ready');
    }
    return { cluster, plan: found.plan };
  }
}
