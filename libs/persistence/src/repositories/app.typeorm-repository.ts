import { EntityManager, In } from 'typeorm';
import { Page, RangeSpec } from '@app/common';
import { Account, App, AppRepository, BillingEntity } from '@app/domain';
import { AccountEntity, AppEntity, CollaboratorEntity } from '../entities';
import { paginate } from './paginate';
import { appMemberSql, byNameOrId, isUuid, storable } from './query-helpers';
import { query, selectList } from './sql';

export class TypeOrmApps implements AppRepository {
  constructor(private readonly m: EntityManager) {}
  async create(app: App): Promise<App> {
    await this.m.insert(AppEntity, app);
    return app;
  }
  findLiveByIdOrName(idOrName: string) {
    if (!storable(idOrName)) return Promise.resolve(null);
    const qb = this.m.createQueryBuilder(AppEntity, 'a').where('a.deleted_at IS NULL');
    if (isUuid(idOrName)) qb.andWhere('a.id = :idOrName', { idOrName });
    else qb.andWhere('a.name = :idOrName', { idOrName });
    return qb.getOne();
  }
  async findLiveWithAccess(idOrName: string, accountId: string): Promise<{ app: App; member: boolean } | null> {
    if (!storable(idOrName)) return null;
    const [row] = await query<(App & { member: boolean })[]>(
      this.m,
      `SELECT ${selectList(this.m, AppEntity, 'a')},
              ${appMemberSql('a', '$2')} AS member
         FROM apps a WHERE a.${isUuid(idOrName) ? 'id' : 'name'} = $1 AND a.deleted_at IS NULL`,
      [idOrName, accountId],
    );
    if (!row) return null;
    const { member, ...app } = row;
    return { app, member };
  }
  findById(id: string) {
    return this.m.findOneBy(AppEntity, { id });
  }
  findByIds(ids: string[]): Promise<App[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.m.findBy(AppEntity, { id: In(ids) });
  }
  listVisible(accountId: string, range: RangeSpec): Promise<Page<App>> {
    const qb = this.m
      .createQueryBuilder(AppEntity, 'x')
      .where('x.deleted_at IS NULL')
      .andWhere(appMemberSql('x', ':accountId'), { accountId });
    return paginate(qb, range, byNameOrId, (a) => (range.field === 'id' ? a.id : a.name));
  }
  listOwnedByAny(entities: BillingEntity[], deletedSince: Date): Promise<App[]> {
    const accounts = entities.filter((e) => e.kind === 'account').map((e) => e.id);
    const teams = entities.filter((e) => e.kind === 'team').map((e) => e.id);
    if (!accounts.length && !teams.length) return Promise.resolve([]);
    return this.m
      .createQueryBuilder(AppEntity, 'x')
      .where(
        `((x.owner_team_id IS NULL AND x.owner_account_id = ANY(:accounts::uuid[])) OR x.owner_team_id = ANY(:teams::uuid[]))
         AND (x.deleted_at IS NULL OR x.deleted_at >= :deletedSince)`,
        { accounts, teams, deletedSince },
      )
      .getMany();
  }
  listOwnedBy(entity: BillingEntity, deletedSince: Date): Promise<App[]> {
    const owner = entity.kind === 'team' ? 'x.owner_team_id = :id' : 'x.owner_account_id = :id AND x.owner_team_id IS NULL';
    return this.m
      .createQueryBuilder(AppEntity, 'x')
      .where(`${owner} AND (x.deleted_at IS NULL OR x.deleted_at >= :deletedSince)`, { id: entity.id, deletedSince })
      .orderBy('x.name')
      .getMany();
  }
  async isNameTaken(name: string): Promise<boolean> {
    return (await this.m.createQueryBuilder(AppEntity, 'a').where('a.name = :name AND a.deleted_at IS NULL', { name }).getCount()) > 0;
  }
  async update(id: string, patch: Partial<Pick<App, 'name' | 'deletedAt' | 'updatedAt'>>): Promise<void> {
    await this.m.update(AppEntity, { id }, patch);
  }
  async lock(id: string): Promise<void> {
    await this.m.query('SELECT 1 FROM apps WHERE id = $1 FOR UPDATE', [id]);
  }
  async lockForAttachment(id: string): Promise<{ aliases: string[]; configVars: { name: string; attachmentId: string | null }[] }> {
    const [row] = await query<{ aliases: string[]; vars: { name: string; attachmentId: string | null }[] }[]>(
      this.m,
      `SELECT ARRAY(SELECT t.name FROM addon_attachments t WHERE t.app_id = a.id) AS aliases,
              COALESCE((SELECT json_agg(json_build_object('name', v.name, 'attachmentId', v.attachment_id))
                        FROM config_vars v WHERE v.app_id = a.id), '[]') AS vars
         FROM apps a WHERE a.id = $1 FOR UPDATE`,
      [id],
    );
    return { aliases: row.aliases, configVars: row.vars };
  }
  async hasAccess(appId: string, accountId: string): Promise<boolean> {
    const rows: unknown[] = await this.m.query(
      `SELECT 1 FROM apps a WHERE a.id = $1 AND a.deleted_at IS NULL AND ${appMemberSql('a', '$2')}`,
      [appId, accountId],
    );
    return rows.length > 0;
  }
  async addCollaborator(appId: string, accountId: string): Promise<void> {
    await this.m.createQueryBuilder().insert().into(CollaboratorEntity).values({ appId, accountId, createdAt: new Date() }).orIgnore().execute();
  }
  async removeCollaborator(appId: string, accountId: string): Promise<boolean> {
    return ((await this.m.delete(CollaboratorEntity, { appId, accountId })).affected ?? 0) > 0;
  }
  listCollaborators(appId: string): Promise<Account[]> {
    return this.m
      .createQueryBuilder(AccountEntity, 'a')
      .innerJoin(CollaboratorEntity, 'c', 'c.account_id = a.id')
      .where('c.app_id = :appId', { appId })
      .orderBy('a.email')
      .getMany();
  }
}
