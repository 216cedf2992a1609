import { EntityManager, In } from 'typeorm';
import { ConfigVar, ConfigVarRepository } from '@app/domain';
import { ConfigVarEntity } from '../entities';

export class TypeOrmConfigVars implements ConfigVarRepository {
  constructor(private readonly m: EntityManager) {}
  listForApp(appId: string): Promise<ConfigVar[]> {
    return this.m.findBy(ConfigVarEntity, { appId });
  }
  async upsert(vars: ConfigVar[]): Promise<void> {
    if (vars.length > 0) await this.m.upsert(ConfigVarEntity, vars, ['appId', 'name']);
  }
  async delete(appId: string, names: string[]): Promise<void> {
    if (names.length > 0) await this.m.delete(ConfigVarEntity, { appId, name: In(names) });
  }
  async deleteByAttachment(attachmentId: string): Promise<ConfigVar[]> {
    const vars = await this.listByAttachment(attachmentId);
    await this.m.delete(ConfigVarEntity, { attachmentId });
    return vars;
  }
  listByAttachment(attachmentId: string): Promise<ConfigVar[]> {
    return this.m.findBy(ConfigVarEntity, { attachmentId });
  }
}
