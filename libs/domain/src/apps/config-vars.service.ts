import { Injectable } from '@nestjs/common';
import { Clock, InvalidInputError, SecretBox } from '@app/common';
import { Store } from '../shared/store.port';
import { assertValidConfigVarName } from '../addons/naming.rules';
import { AppAccess } from './app-access';

export type ConfigMap = Record<string, string>;

@Injectable()
export class ConfigVarsService {
  constructor(
    private readonly store: Store,
    private readonly access: AppAccess,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  async get(accountId: string, appIdOrName: string): Promise<ConfigMap> {
    const app = await this.access.member(accountId, appIdOrName);
    return this.read(this.store, app.id);
  }

  /** Sets and unsets (null) vars in one release. Vars owned by an attachment cannot be changed here. */
  async patch(accountId: string, appIdOrName: string, changes: Record<string, string | null>): Promise<ConfigMap> {
    for (const [name, value] of Object.entries(changes)) {
      assertValidConfigVarName(name);
      if (value !== null && typeof value !== 'string') {
        throw new InvalidInputError(`Config var ${name} must be a string or null.`);
      }
    }
    return this.store.transaction(async (tx) => {
      const app = await this.access.member(accountId, appIdOrName, tx);
      await tx.apps.lock(app.id);
      const current = await tx.configVars.listForApp(app.id);
      const byName = new Map(current.map((v) => [v.name, v]));
      const managed = Object.keys(changes).filter((name) => byName.get(name)?.attachmentId);
      if (managed.length > 0) {
        throw new InvalidInputError(
          `${managed.join(', ')} ${managed.length === 1 ? 'is' : 'are'} set by an add-on attachment; detach the add-on or change it through the add-on instead.`,
        );
      }
      const set = Object.entries(changes).filter((entry): entry is [string, string] => entry[1] !== null);
      const unset = Object.keys(changes).filter((name) => changes[name] === null && byName.has(name));
      const changed =
        set.some(([name, value]) => !byName.has(name) || this.box.open(byName.get(name)!.valueSealed) !== value) ||
        unset.length > 0;
      if (changed) {
        await tx.configVars.upsert(
          set.map(([name, value]) => ({ appId: app.id, name, valueSealed: this.box.seal(value), attachmentId: null })),
        );
        await tx.configVars.delete(app.id, unset);
        const now = this.clock.now();
        const parts = [
          set.length > 0 ? `Set ${set.map(([n]) => n).join(', ')} config vars` : '',
          unset.length > 0 ? `Unset ${unset.join(', ')} config vars` : '',
        ].filter(Boolean);
        await tx.releases.append(app.id, parts.join('; '), now);
        await tx.events.append({
          type: 'config_vars.changed',
          appId: app.id,
          occurredAt: now,
          data: { set: set.map(([n]) => n), unset },
        });
      }
      return this.read(tx, app.id);
    });
  }

  async read(store: Store, appId: string): Promise<ConfigMap> {
    const vars = await store.configVars.listForApp(appId);
    const result: ConfigMap = {};
    for (const v of vars.sort((a, b) => a.name.localeCompare(b.name))) result[v.name] = this.box.open(v.valueSealed);
    return result;
  }
}
