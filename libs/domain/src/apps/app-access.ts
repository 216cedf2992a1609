import { Injectable } from '@nestjs/common';
import { ForbiddenError, NotFoundError } from '@app/common';
import { App } from '../shared/models';
import { Store } from '../shared/store.port';

/**
 * Who may do what with an app: its owner (for a team's app, the team's admins) everything;
 * collaborators and the team's members all but rename, delete, transfer and billing.
 */
@Injectable()
export class AppAccess {
  constructor(private readonly store: Store) {}

  async member(accountId: string, idOrName: string, store: Store = this.store): Promise<App> {
    const found = await store.apps.findLiveWithAccess(idOrName, accountId);
    if (!found) throw new NotFoundError('app');
    const { app } = found;
    if (!found.member) {
      throw new ForbiddenError(`You do not have access to the app ${app.name}.`);
    }
    return app;
  }

  async owner(accountId: string, idOrName: string, store: Store = this.store): Promise<App> {
    const app = await this.member(accountId, idOrName, store);
    if (app.ownerTeamId) {
      if ((await store.teams.roleOf(app.ownerTeamId, accountId)) !== 'admin') throw new ForbiddenError(`Only an admin of the team that owns ${app.name} can do this.`);
    } else if (app.ownerAccountId !== accountId) {
      throw new ForbiddenError(`Only the owner of ${app.name} can do this.`);
    }
    return app;
  }
}
