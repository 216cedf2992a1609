import { Injectable } from '@nestjs/common';
import { InvalidInputError, NotFoundError } from '@app/common';
import { Addon, AddonService, Plan } from '../shared/models';
import { Store } from '../shared/store.port';
import { AddonAccess } from '../addons/addon-access';
import { PostgresBackends } from './postgres-backends.service';
import { BackendConnection, PostgresDatabase } from './postgres.models';

/** A first-party PostgreSQL add-on with everything its operations need. */
export interface PostgresAddon {
  addon: Addon;
  service: AddonService;
  plan: Plan;
  database: PostgresDatabase;
  backend: BackendConnection;
}

/** Finds PostgreSQL add-ons for operations, checking the caller's access. */
@Injectable()
export class PostgresAddons {
  constructor(
    private readonly store: Store,
    private readonly access: AddonAccess,
    private readonly backends: PostgresBackends,
  ) {}

  /** For reads: members of any app the add-on is attached to. */
  async viewable(accountId: string, idOrName: string): Promise<PostgresAddon> {
    return this.load(await this.access.viewable(accountId, idOrName));
  }

  /** For changes: members of the add-on's billing app. */
  async manageable(accountId: string, idOrName: string): Promise<PostgresAddon> {
    return this.load(await this.access.manageable(accountId, idOrName));
  }

  /** Without an access check, for the worker. Null once the add-on or its database is gone. */
  async byId(addonId: string): Promise<PostgresAddon | null> {
    const addon = await this.store.addons.findById(addonId);
    if (!addon || addon.state === 'deprovisioned') return null;
    try {
      return await this.load(addon);
    } catch (error) {
      if (error instanceof InvalidInputError) return null;
      throw error;
    }
  }

  private async load(addon: Addon): Promise<PostgresAddon> {
    const found = await this.store.addons.findWithCatalog(addon.id);
    if (!found || found.service.provider !== 'postgres') {
      throw new NotFoundError('add_on', `${addon.name} is not a PostgreSQL add-on.`);
    }
    const database = await this.store.postgres.databases.findByAddon(addon.id);
    if (addon.state !== 'provisioned' || !database || database.state !== 'active') {
      throw new InvalidInputError(`${addon.name} is ${addon.state === 'provisioned' ? 'not available' : addon.state}; try again once it is provisioned.`, 'addon_not_ready');
    }
    return { addon: found.addon, service: found.service, plan: found.plan, database, backend: await this.backends.connection(database.backendId) };
  }
}
