import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@app/common';
import { Store } from '../shared/store.port';
import { PostgresBackends } from './postgres-backends.service';
import { PostgresClusterAdmin, tenantNames } from './postgres-cluster.port';
import { PostgresOptions } from './postgres.options';
import { OWNER_CREDENTIAL, PostgresDatabase } from './postgres.models';
import { formatBytes, storageLimitBytes } from './postgres-plans';
import { FirstPartyUsage } from '../billing/first-party-usage';
import { firstPartyServiceId } from '../catalog/first-party-catalog';

/**
 * Measures every tenant database and enforces the plan's storage limit: over it for longer
 * than the grace period, writes are restricted; back under, the restriction is lifted.
 */
@Injectable()
export class PostgresStorageMonitor {
  private readonly logger = new Logger(PostgresStorageMonitor.name);

  constructor(
    private readonly store: Store,
    private readonly backends: PostgresBackends,
    private readonly admin: PostgresClusterAdmin,
    private readonly clock: Clock,
    private readonly options: PostgresOptions,
    private readonly usage: FirstPartyUsage,
  ) {}

  async run(): Promise<{ measured: number; restricted: number; lifted: number }> {
    const result = { measured: 0, restricted: 0, lifted: 0 };
    const byBackend = new Map<string, PostgresDatabase[]>();
    for (const database of await this.store.postgres.databases.listActive()) {
      byBackend.set(database.backendId, [...(byBackend.get(database.backendId) ?? []), database]);
    }
    for (const [backendId, databases] of byBackend) {
      try {
        const backend = await this.backends.connection(backendId);
        const sizes = await this.admin.databaseSizes(backend, databases.map((d) => d.databaseName));
        for (const database of databases) {
          const size = sizes.get(database.databaseName);
          if (size === undefined) continue;
          const outcome = await this.enforce(database, size);
          await this.usage.recordSize(firstPartyServiceId('postgres'), database.addonId, 'storage_mb_hours', size, this.clock.now());
          result.measured++;
          if (outcome === 'restricted') result.restricted++;
          if (outcome === 'lifted') result.lifted++;
        }
      } catch (error) {
        this.logger.warn({ backendId, err: (error as Error).message }, 'could not measure a PostgreSQL backend; will retry');
      }
    }
    return result;
  }

  private async enforce(database: PostgresDatabase, sizeBytes: number): Promise<'restricted' | 'lifted' | null> {
    const found = await this.store.addons.findWithCatalog(database.addonId);
    if (!found || found.addon.state !== 'provisioned') return null;
    const { addon, plan } = found;
    const now = this.clock.now();
    const limit = storageLimitBytes(plan, this.options.storageScale);
    const over = sizeBytes > limit;
    const overLimitSince = over ? (database.overLimitSince ?? now) : null;
    const shouldRestrict = over && now.getTime() - overLimitSince!.getTime() >= this.options.storageGraceMs;
    let outcome: 'restricted' | 'lifted' | null = null;
    const backend = () => this.backends.connection(database.backendId);
    const credentialRoles = async () =>
      (await this.store.postgres.credentials.listActive(addon.id)).filter((c) => c.name !== OWNER_CREDENTIAL).map((c) => c.roleName);
    if (shouldRestrict && !database.restrictedAt) {
      await this.admin.restrict(await backend(), tenantNames(addon.id), await credentialRoles());
      outcome = 'restricted';
    } else if (!over && database.restrictedAt) {
      await this.admin.unrestrict(await backend(), tenantNames(addon.id), await credentialRoles());
      outcome = 'lifted';
    }
    const restrictedAt = outcome === 'restricted' ? now : outcome === 'lifted' ? null : database.restrictedAt;
    await this.store.transaction(async (tx) => {
      await tx.postgres.databases.update(addon.id, { storageBytes: sizeBytes, measuredAt: now, overLimitSince, restrictedAt, updatedAt: now });
      if (outcome) {
        await tx.events.append({
          type: outcome === 'restricted' ? 'addon.restricted' : 'addon.restriction_lifted',
          addonId: addon.id,
          appId: addon.appId,
          occurredAt: now,
          data: { storage_bytes: sizeBytes, limit_bytes: limit },
        });
      }
    });
    if (outcome) this.logger.log({ addonId: addon.id, size: formatBytes(sizeBytes), limit: formatBytes(limit) }, `storage ${outcome}`);
    return outcome;
  }
}
