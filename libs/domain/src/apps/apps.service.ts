import { Injectable } from '@nestjs/common';
import { Clock, ConflictError, ForbiddenError, InvalidInputError, NotFoundError, Page, RangeSpec, newId } from '@app/common';
import { Account, App, Region } from '../shared/models';
import { Store } from '../shared/store.port';
import { assertValidAppName, generateAppName } from '../addons/naming.rules';
import { AppAccess } from './app-access';
import { BillingEntity, Team, ownerOf, sameEntity } from '../teams/teams.models';

export interface AppView {
  app: App;
  owner: Account;
  /** The team that owns the app, if one does. */
  team: Team | null;
  region: Region;
}

/** As `deletedSince`: no app was deleted that late, so only live ones. */
const LIVE_ONLY = new Date(8.64e15);

@Injectable()
export class AppsService {
  constructor(
    private readonly store: Store,
    private readonly access: AppAccess,
    private readonly clock: Clock,
  ) {}

  /** A personal app of the account, or with `team` an app of that team (any member may create one). */
  async create(accountId: string, input: { name?: string | null; region?: string | null; team?: string | null }): Promise<AppView> {
    let team: Team | null = null;
    if (input.team) {
      team = await this.store.teams.findByIdOrName(input.team);
      if (!team) throw new NotFoundError('team');
      if (!(await this.store.teams.roleOf(team.id, accountId))) throw new ForbiddenError(`You are not a member of the team ${team.name}.`);
    }
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
        ownerTeamId: team?.id ?? null,
        regionId: region.id,
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      });
      await tx.apps.lock(app.id);
      await tx.releases.append(app.id, 'Initial release', now);
      await tx.events.append({ type: 'app.created', appId: app.id, occurredAt: now, data: { name, owner: ownerOf(app) } });
      return this.view(tx, app);
    });
  }

  async list(accountId: string, range: RangeSpec): Promise<Page<AppView>> {
    const page = await this.store.apps.listVisible(accountId, range);
    const views = await this.views(page.items);
    return { items: views, nextRange: page.nextRange };
  }

  /** The team's live apps (members only). */
  async listForTeam(accountId: string, teamRef: string): Promise<AppView[]> {
    const team = await this.store.teams.findByIdOrName(teamRef);
    if (!team) throw new NotFoundError('team');
    if (!(await this.store.teams.roleOf(team.id, accountId))) throw new ForbiddenError(`You are not a member of the team ${team.name}.`);
    return this.views(await this.store.apps.listOwnedBy({ kind: 'team', id: team.id }, LIVE_ONLY));
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

  /**
   * Gives the app to a team the caller belongs to, or to the caller's own account; the new owner
   * pays for its add-ons from this second on. Only who may manage the app now may move it (its
   * owner, or an admin of its team).
   */
  async transfer(accountId: string, idOrName: string, to: string): Promise<AppView> {
    return this.store.transaction(async (tx) => {
      // Locked, then read and authorized: a transfer made meanwhile is seen.
      const found = await tx.apps.findLiveByIdOrName(idOrName);
      if (found) await tx.apps.lock(found.id);
      const app = await this.access.owner(accountId, idOrName, tx);
      const self = (await tx.accounts.findById(accountId))!;
      let target: BillingEntity;
      if (to.trim().toLowerCase() === self.email.toLowerCase() || to === self.id) {
        target = { kind: 'account', id: self.id };
      } else {
        const team = await tx.teams.findByIdOrName(to);
        if (!team) {
          const account = (await tx.accounts.findByEmail(to.trim().toLowerCase())) ?? (await tx.accounts.findById(to));
          if (account) throw new ForbiddenError('An app moves to another account only when that account accepts it, which Attache does not offer yet; transfer it to a team you share.');
          throw new NotFoundError('team', `No team or account ${to}.`);
        }
        if (!(await tx.teams.roleOf(team.id, accountId))) throw new ForbiddenError(`You are not a member of the team ${team.name}.`);
        target = { kind: 'team', id: team.id };
      }
      const from = ownerOf(app);
      if (sameEntity(from, target)) return this.view(tx, app);
      const now = this.clock.now();
      const patch = { ownerAccountId: target.kind === 'account' ? target.id : app.ownerAccountId, ownerTeamId: target.kind === 'team' ? target.id : null, updatedAt: now };
      await tx.apps.update(app.id, patch);
      await tx.events.append({ type: 'app.transferred', appId: app.id, occurredAt: now, data: { from, to: target } });
      return this.view(tx, { ...app, ...patch });
    });
  }

  async addCollaborator(accountId: string, idOrName: string, email: string): Promise<Account> {
    const app = await this.access.owner(accountId, idOrName);
    const collaborator = await this.store.accounts.findByEmail(email.trim().toLowerCase());
    if (!collaborator) throw new NotFoundError('account', `No account with email ${email}.`);
    // The owner of a personal app needs no collaboration; a team app's creator may have left the team.
    if (app.ownerTeamId || collaborator.id !== app.ownerAccountId) await this.store.apps.addCollaborator(app.id, collaborator.id);
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
    const [owner, regions, teams] = await Promise.all([
      store.accounts.findById(app.ownerAccountId),
      store.regions.list(),
      app.ownerTeamId ? store.teams.findByIds([app.ownerTeamId]) : Promise.resolve([]),
    ]);
    const region = regions.find((r) => r.id === app.regionId);
    if (!owner || !region) throw new Error(`App ${app.id} references a missing owner or region.`);
    return { app, owner, team: teams[0] ?? null, region };
  }

  private async views(apps: App[]): Promise<AppView[]> {
    const regions = await this.store.regions.list();
    const owners = new Map<string, Account>();
    for (const ownerId of new Set(apps.map((a) => a.ownerAccountId))) {
      const owner = await this.store.accounts.findById(ownerId);
      if (owner) owners.set(ownerId, owner);
    }
    const teams = new Map((await this.store.teams.findByIds([...new Set(apps.flatMap((a) => (a.ownerTeamId ? [a.ownerTeamId] : [])))])).map((t) => [t.id, t]));
    return apps.map((app) => ({
      app,
      owner: owners.get(app.ownerAccountId)!,
      team: app.ownerTeamId ? (teams.get(app.ownerTeamId) ?? null) : null,
      region: regions.find((r) => r.id === app.regionId)!,
    }));
  }
}
