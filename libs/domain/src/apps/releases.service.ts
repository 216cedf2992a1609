import { Injectable } from '@nestjs/common';
import { NotFoundError, Page, RangeSpec } from '@app/common';
import { App, Release } from '../shared/models';
import { Store } from '../shared/store.port';
import { AppAccess } from './app-access';

@Injectable()
export class ReleasesService {
  constructor(
    private readonly store: Store,
    private readonly access: AppAccess,
  ) {}

  async list(accountId: string, appIdOrName: string, range: RangeSpec): Promise<{ app: App; page: Page<Release> }> {
    const app = await this.access.member(accountId, appIdOrName);
    return { app, page: await this.store.releases.list(app.id, range) };
  }

  async get(accountId: string, appIdOrName: string, idOrVersion: string): Promise<{ app: App; release: Release }> {
    const app = await this.access.member(accountId, appIdOrName);
    const release = await this.store.releases.findByIdOrVersion(app.id, idOrVersion);
    if (!release) throw new NotFoundError('release');
    return { app, release };
  }
}
