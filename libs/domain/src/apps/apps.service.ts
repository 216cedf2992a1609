import { Injectable } from '@nestjs/common';
import { Clock, ConflictError, InvalidInputError, NotFoundError, Page, RangeSpec, newId } from '@app/common';
import { Account, App, Region } from '../shared/models';
import { Store } from '../shared/store.port';
import { assertValidAppName, generateAppName } from '../addons/naming.rules';
import { AppAccess } from './app-access';

export interface AppView {
  app: App;
  owner: Account;
  region: Region;
}

@Injectable()
export class AppsService {
  constructor(
    private readonly store: Store,
    private readonly access: AppAccess,
    private readonly clock: Clock,
  ) {}

  async create(accountId: string, input: { name?: string | null; region?: string | null }): Promise<AppView> {
    const region = input.region ? await this.store.regions.findByIdOrName(input.region) : await this.store.regions.findDefault();
    if (!region) throw new InvalidInputError(`Region "${input.region}" does not exist.`);
    if (input.name) assertValidAppName(input.name);
    return this.store.transaction(async (tx) => {
      let name = input.name ?? generateAppName();
      if (await tx.apps.isNameTaken(name)) {
        if (input.name) throw new ConflictError('name_taken', `Name ${name} is already taken.`);
        name = generateAppName();
      }
      const now = this.clock.now();
      const app = await tx.apps.create({
        id: newId(),
        name,
        ownerAccountId: accountId,
        regionId: region.id,
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      });
      await tx.apps.lock(app.id);
      await tx.releases.append(app.id, 'Initial release', now);
      await tx.events.append({ type: 'app.created', appId: app.id, occurredAt: now, data: { name } });
      return this.view(tx, app);
    });
  }

  async list(accountId: string, range: RangeSpec): Promise<Page<AppView>> {
    const page = await this.store.apps.listVisible(accountId, range);
    const views = await this.views(page.items);
    return { items: views, nextRange: page.nextRange };
  }

  async get(accountId: string, idOrName: string): Promise<AppView> {
    return this.view(this.store, await this.access.member(accountId, idOrName));
  }

  async rename(accountId: string, idOrName: string, newName: string): Promise<AppView> {
    assertValidAppName(newName);
    return this.store.transaction(async (tx) => {
      const app = await this.access.owner(accountId, idOrName, tx);
      if (app.name === newName) return this.view(tx, app);
      if (await tx.apps.isNameTaken(newName)) throw new ConflictError('name_taken', `Name ${newName} is already taken.`);
      const now = this.clock.now();
      await tx.apps.update(app.id, { name: newName, updatedAt: now });
      await tx.events.append({ type: 'app.renamed', appId: app.id, occurredAt: now, data: { from: app.name, to: newName } });
      return this.view(tx, { ...app, name: newName, updatedAt: now });
    });
  }

  async addCollaborator(accountId: string, idOrName: string, email: string): Promise<Account> {
    const app = await this.access.owner(accountId, idOrName);
    const collaborator = await this.store.accounts.findByEmail(email.trim().toLowerCase());
    if (!collaborator) throw new NotFoundError('account', `No account with email ${email}.`);
    if (collaborator.id !== app.ownerAccountId) await this.store.apps.addCollaborator(app.id, collaborator.id);
    return collaborator;
  }

  async listCollaborators(accountId: string, idOrName: string): Promise<{ app: App; accounts: Account[] }> {
    const app = await this.access.member(accountId, idOrName);
    return { app, accounts: await this.store.apps.listCollaborators(app.id) };
  }

  async removeCollaborator(accountId: string, idOrName: string, emailOrId: string): Promise<void> {
    const app = await this.access.owner(accountId, idOrName);
    const collaborator =
      (await this.store.accounts.findByEmail(emailOrId.toLowerCase())) ?? (await this.store.accounts.findById(emailOrId));
    if (!collaborator || !(await this.store.apps.removeCollaborator(app.id, collaborator.id))) {
      throw new NotFoundError('collaborator');
    }
  }

  async view(store: Store, app: App): Promise<AppView> {
    const [owner, regions] = await Promise.all([store.accounts.findById(app.ownerAccountId), store.regions.list()]);
    const region = regions.find((r) => r.id === app.regionId);
    if (!owner || !region) throw new Error(`App ${app.id} references a missing owner or region.`);
    return { app, owner, region };
  }

  private async views(apps: App[]): Promise<AppView[]> {
    const regions = await this.store.regions.list();
    const owners = new Map<string, Account>();
    for (const ownerId of new Set(apps.map((a) => a.ownerAccountId))) {
      const owner = await this.store.accounts.findById(ownerId);
      if (owner) owners.set(ownerId, owner);
    }
    return apps.map((app) => ({
      app,
      owner: owners.get(app.ownerAccountId)!,
      region: regions.find((r) => r.id === app.regionId)!,
    }));
  }
}
