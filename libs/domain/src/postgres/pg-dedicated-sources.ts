import { Injectable } from '@nestjs/common';
import { Addon, Plan } from '../shared/models';
import { ProviderRefusedError } from '../shared/ports';
import { Store } from '../shared/store.port';
import { PgClusterDriver } from './pg-cluster-driver.port';
import { DedicatedCluster } from './pg-dedicated.models';
import { DedicatedClusterRepository } from './pg-dedicated.repository';
import { dedicatedPlanShape } from './pg-dedicated-plans';

/** A PostgreSQL add-on another one starts from: a dedicated cluster, or (for forks only) a shared-plan database. */
export interface DedicatedSource {
  addon: Addon;
  plan: Plan;
  cluster: DedicatedCluster;
}

export interface AnySource {
  addon: Addon;
  plan: Plan;
  /** Null for a shared-plan database. */
  cluster: DedicatedCluster | null;
}

/** The moments a rollback from a source can reach. */
export interface RollbackWindow {
  earliest: Date | null;
  latest: Date;
}

/**
 * Finds the source of a fork, follower or rollback from what the developer typed: an add-on
 * name, an attachment name on the app, or a config var such as `DATABASE_URL`. The source must
 * be attached to the app the new add-on is created on, so nobody copies data they cannot see.
 */
@Injectable()
export class PgDedicatedSources {
  constructor(
    private readonly store: Store,
    private readonly clusters: DedicatedClusterRepository,
    private readonly driver: PgClusterDriver,
  ) {}

  /** A dedicated source: rollbacks and followers need its WAL. */
  async resolve(appId: string, reference: string): Promise<DedicatedSource> {
    const source = await this.resolveAny(appId, reference);
    if (!source.cluster) throw new ProviderRefusedError(`${source.addon.name} is on the shared plan postgresql:${source.plan.name}, which keeps no WAL archive: only --fork can start from it.`);
    return { ...source, cluster: source.cluster };
  }

  /** A dedicated source or a shared-plan one (forks copy the latter by dump and restore). */
  async resolveAny(appId: string, reference: string): Promise<AnySource> {
    const addon = await this.findAddon(appId, reference);
    if (!addon) throw new ProviderRefusedError(`No PostgreSQL add-on ${reference} is attached to this app (give an add-on name, an attachment name or a config var such as DATABASE_URL).`);
    const found = await this.store.addons.findWithCatalog(addon.id);
    if (!found || found.service.provider !== 'postgres') throw new ProviderRefusedError(`${addon.name} is not a PostgreSQL add-on.`);
    if (found.addon.state !== 'provisioned') throw new ProviderRefusedError(`${addon.name} is ${found.addon.state}, not running.`);
    const cluster = await this.clusters.findByAddon(addon.id);
    if (cluster && cluster.state === 'active') return { addon: found.addon, plan: found.plan, cluster };
    const database = cluster ? null : await this.store.postgres.databases.findByAddon(addon.id);
    if (!database || database.state !== 'active') throw new ProviderRefusedError(`${addon.name} has no running database.`);
    return { addon: found.addon, plan: found.plan, cluster: null };
  }

  /** From the oldest base backup kept to now. */
  async window(source: DedicatedSource, now: Date): Promise<RollbackWindow> {
    const backups = await this.driver.baseBackups(source.cluster.key);
    const horizon = now.getTime() - dedicatedPlanShape(source.plan).rollbackWindowMs;
    const usable = backups.filter((b) => b.finishedAt.getTime() <= now.getTime());
    // The newest backup before the horizon still covers the horizon itself.
    const covering = usable.filter((b) => b.finishedAt.getTime() <= horizon).pop();
    const earliest = covering ? new Date(horizon) : usable[0]?.finishedAt ?? null;
    return { earliest, latest: now };
  }

  /** Refuses a moment outside the window, saying what the window is. */
  async checkTarget(source: DedicatedSource, target: Date, now: Date): Promise<void> {
    const { earliest, latest } = await this.window(source, now);
    if (!earliest) throw new ProviderRefusedError(`${source.addon.name} has no base backup yet, so it cannot be rolled back; try again in a moment.`);
    if (target < earliest || target > latest) {
      throw new ProviderRefusedError(
        `${target.toISOString()} is outside the rollback window of ${source.addon.name}: from ${earliest.toISOString()} to ${latest.toISOString()}.`,
      );
    }
  }

  private async findAddon(appId: string, reference: string): Promise<Addon | null> {
    const byAttachment = async (name: string) => {
      const attachment = await this.store.attachments.findByAppAndName(appId, name);
      return attachment ? this.store.addons.findById(attachment.addonId) : null;
    };
    const attached = await byAttachment(reference);
    if (attached) return attached;
    if (/^[A-Z][A-Z0-9_]*_URL$/.test(reference)) {
      const fromVar = await byAttachment(reference.slice(0, -'_URL'.length));
      if (fromVar) return fromVar;
    }
    const named = await this.store.addons.findByIdOrName(reference);
    if (!named || named.state === 'deprovisioned') return null;
    if (named.appId === appId) return named;
    const attachments = await this.store.attachments.listForAddon(named.id);
    return attachments.some((a) => a.appId === appId) ? named : null;
  }
}
