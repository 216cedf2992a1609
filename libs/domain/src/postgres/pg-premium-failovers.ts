import { Injectable, Logger } from '@nestjs/common';
import { Clock, SecretBox } from '@app/common';
import { Store } from '../shared/store.port';
import { AddonConfigProjector } from '../addons/addon-config.projector';
import { DedicatedCluster } from './pg-dedicated.models';
import { DedicatedClusterRepository } from './pg-dedicated.repository';
import { PgPremiumDriver, PgPremiumNode, PgPremiumSpec } from './pg-premium-driver.port';
import { POSTGRES_URL_VAR } from './postgres-credentials.use-case';
import { postgresUrl } from './postgres-backends.service';

/** The address tenants reach local clusters at. */
const LOCAL_ADDRESS = '127.0.0.1';

/** What the driver needs to run a premium cluster, with the owner's password opened. */
export function premiumSpec(cluster: DedicatedCluster, box: SecretBox): PgPremiumSpec {
  const ports = cluster.premiumPorts;
  if (!ports || ports.length !== 3 || cluster.port === null) throw new Error(`The cluster of add-on ${cluster.addonId} has no standby.`);
  // As dedicatedSpec (pg-dedicated.service), which imports this file.
  return {
    key: cluster.key,
    port: cluster.port,
    database: cluster.databaseName,
    ownerRole: cluster.ownerRole,
    ownerPassword: box.open(cluster.ownerPasswordSealed),
    monitorPort: ports[0],
    nodePorts: [ports[1], ports[2]],
  };
}

/** The standby as info shows it. */
export interface PremiumStandbyInfo {
  /** pg_auto_failover's state of the standby (`secondary` when streaming and in sync), or null when there is none now. */
  state: string | null;
  lagBytes: number | null;
  lastFailoverAt: Date | null;
}

/**
 * Premium clusters' supervision: dead monitor or keepers are started again (a dead primary is
 * left to pg_auto_failover's failover), and a failover the monitor made is followed: every
 * attached app gets the promoted node's URL in one release, then the cluster records its new
 * primary and when. A crash in between publishes again on the next run (a release only where
 * the URL changed).
 */
@Injectable()
export class PgPremiumFailovers {
  private readonly logger = new Logger(PgPremiumFailovers.name);

  constructor(
    private readonly store: Store,
    private readonly clusters: DedicatedClusterRepository,
    private readonly driver: PgPremiumDriver,
    private readonly projector: AddonConfigProjector,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  async supervise(): Promise<{ checked: number; failovers: number; failed: number }> {
    const result = { checked: 0, failovers: 0, failed: 0 };
    for (const cluster of await this.clusters.listActive()) {
      if (!cluster.premiumPorts || cluster.port === null) continue;
      // A provision still under way builds its own formation.
      const addon = await this.store.addons.findById(cluster.addonId);
      if (!addon || addon.state !== 'provisioned') continue;
      result.checked++;
      try {
        const spec = premiumSpec(cluster, this.box);
        // Removed meanwhile (a destroy): nothing to start or follow.
        if (!(await this.driver.isHealthy(spec)) && (await this.driver.start(spec)) === 'removed') continue;
        const state = await this.driver.state(spec);
        if (state.primaryPort !== null && state.primaryPort !== cluster.port) {
          await this.follow(cluster, state.primaryPort);
          result.failovers++;
        }
      } catch (error) {
        result.failed++;
        this.logger.warn({ addonId: cluster.addonId, err: (error as Error).message }, 'premium PostgreSQL supervision failed');
      }
    }
    return result;
  }

  async standby(cluster: DedicatedCluster): Promise<PremiumStandbyInfo> {
    const lastFailoverAt = cluster.lastFailoverAt ?? null;
    const state = await this.driver.state(premiumSpec(cluster, this.box)).catch(() => null);
    const standby: PgPremiumNode | undefined = state?.nodes.find((node) => node.port !== state.primaryPort);
    if (!state || state.primaryPort === null || !standby) return { state: null, lagBytes: null, lastFailoverAt };
    return { state: standby.state, lagBytes: standby.lagBytes, lastFailoverAt };
  }

  /** The apps' URLs first, then the record: the record names the primary the apps already have. */
  private async follow(cluster: DedicatedCluster, primaryPort: number): Promise<void> {
    const now = this.clock.now();
    const password = this.box.open(cluster.ownerPasswordSealed);
    // The address apps reach the cluster's host at, as the provision gave them.
    const host = await this.clusters.findHost(cluster.host);
    const address = host?.address ?? LOCAL_ADDRESS;
    const config = { [POSTGRES_URL_VAR]: postgresUrl({ host: address, port: primaryPort }, cluster.ownerRole, password, cluster.databaseName) };
    await this.store.transaction(async (tx) => {
      const addon = await tx.addons.findByIdForUpdate(cluster.addonId);
      const found = await tx.addons.findWithCatalog(cluster.addonId);
      if (!addon || !found || addon.state !== 'provisioned') return;
      const patch = { configSealed: this.projector.sealConfig(config), updatedAt: now };
      await tx.addons.update(addon.id, patch);
      await this.projector.projectAll(tx, { ...addon, ...patch }, found.service, config, `Failover of ${addon.name}`, now);
      await tx.events.append({ type: 'addon.failover', addonId: addon.id, appId: addon.appId, occurredAt: now, data: { from_port: cluster.port, to_port: primaryPort } });
    });
    await this.clusters.update(cluster.addonId, { port: primaryPort, lastFailoverAt: now, updatedAt: now });
    this.logger.log({ addonId: cluster.addonId, port: primaryPort }, 'followed a PostgreSQL failover');
  }
}
