import { Injectable } from '@nestjs/common';
import { Clock, SecretBox, newId } from '@app/common';
import { AddonService, Plan } from '../shared/models';
import { ProvisionHeadStart } from '../shared/ports';
import { Store } from '../shared/store.port';
import { tenantNames } from './postgres-cluster.port';
import { newDatabasePassword } from './postgres-credentials.use-case';
import { OWNER_CREDENTIAL, PostgresCredential, PostgresDatabase } from './postgres.models';
import { isEssentialPlan } from './postgres-plans';

/** The records of an add-on's essential database before it has a backend: the database and its owner credential. */
export interface TenantRecords {
  database: Omit<PostgresDatabase, 'backendId'>;
  owner: PostgresCredential;
}

/** The records of a new tenant for the add-on, its owner password sealed. */
export function tenantRecords(addonId: string, passwordSealed: string, now: Date): TenantRecords {
  const names = tenantNames(addonId);
  return {
    database: {
      addonId,
      databaseName: names.database,
      groupRole: names.groupRole,
      state: 'active',
      storageBytes: null,
      measuredAt: null,
      overLimitSince: null,
      restrictedAt: null,
      backupHourUtc: null,
      createdAt: now,
      updatedAt: now,
      droppedAt: null,
    },
    owner: {
      id: newId(),
      addonId,
      name: OWNER_CREDENTIAL,
      roleName: names.ownerRole,
      passwordSealed,
      pendingPasswordSealed: null,
      pendingSince: null,
      state: 'active',
      createdAt: now,
      rotatedAt: null,
      destroyedAt: null,
      roleDroppedAt: null,
    },
  };
}

/**
 * Places an essential database in the transaction that creates its add-on, so that the provision
 * finds it placed: the add-on and its placement commit together, in the request's round trips,
 * instead of in a transaction of their own in the worker. The records exist before the tenant
 * does on any cluster, as the provision's own placement (which remains for when every backend
 * was full at creation) guarantees too.
 */
@Injectable()
export class PostgresPlacement {
  constructor(
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  /** The records of the add-on's essential database, its owner password new; none for other services and plans. */
  recordsFor(addonId: string, service: AddonService, plan: Plan): TenantRecords | undefined {
    if (service.provider !== 'postgres' || !isEssentialPlan(plan.name)) return undefined;
    return tenantRecords(addonId, this.box.seal(newDatabasePassword()), this.clock.now());
  }

  /** The provision job's head start: the owner password the records hold, sealed. */
  headStart(records: TenantRecords | undefined): ProvisionHeadStart | undefined {
    return records && { postgresOwnerPasswordSealed: records.owner.passwordSealed };
  }

  /**
   * The records' placement in the transaction, sent at once (right behind the add-on's insert);
   * nothing without records. Every backend full, or the add-on's insert refused (its name taken),
   * places nothing: the provision places the database then.
   */
  async placeWithAddon(tx: Store, records: TenantRecords | undefined): Promise<void> {
    if (records) await tx.postgres.databases.place(records.database, records.owner);
  }
}
