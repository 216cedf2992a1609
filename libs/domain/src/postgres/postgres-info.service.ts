import { Injectable } from '@nestjs/common';
import { PostgresAddon, PostgresAddons } from './postgres-addons';
import { PostgresClusterAdmin } from './postgres-cluster.port';
import { PostgresOptions } from './postgres.options';
import { essentialLimits, storageLimitBytes } from './postgres-plans';

export interface PostgresInfo {
  target: PostgresAddon;
  status: 'available' | 'restricted';
  storageBytes: number;
  storageLimitBytes: number;
  connections: number;
  connectionLimit: number;
  tables: number;
  serverVersion: string;
  measuredAt: Date | null;
  overLimitSince: Date | null;
  restrictedAt: Date | null;
}

/** What `pg:info` shows: plan, status, storage, connections, tables, version, restriction. */
@Injectable()
export class PostgresInfoService {
  constructor(
    private readonly addons: PostgresAddons,
    private readonly admin: PostgresClusterAdmin,
    private readonly options: PostgresOptions,
  ) {}

  async info(accountId: string, addonRef: string): Promise<PostgresInfo> {
    const target = await this.addons.viewable(accountId, addonRef);
    const stats = await this.admin.stats(target.backend, target.database.databaseName);
    const { database, plan } = target;
    return {
      target,
      status: database.restrictedAt ? 'restricted' : 'available',
      storageBytes: stats.sizeBytes,
      storageLimitBytes: storageLimitBytes(plan, this.options.storageScale),
      connections: stats.connections,
      connectionLimit: essentialLimits(plan).connections,
      tables: stats.tables,
      serverVersion: stats.serverVersion,
      measuredAt: database.measuredAt,
      overLimitSince: database.overLimitSince,
      restrictedAt: database.restrictedAt,
    };
  }
}
