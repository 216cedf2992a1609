import { EntityManager, In } from 'typeorm';
import { Page, RangeSpec } from '@app/common';
import { Addon, AddonRepository, AddonService, AddonState, Plan } from '@app/domain';
import { AddonEntity, AddonServiceEntity, PlanEntity } from '../entities';
import { paginate } from './paginate';
import { appMemberSql, byNameOrId, isUuid, storable } from './query-helpers';
import { insertRow, query, selectList, setClause, unprefixed } from './sql';

/** First key of the advisory lock a creating transaction holds on its add-on (the second is the add-on's). */
const CREATION_LOCK = 727301;

export class TypeOrmAddons implements AddonRepository {
  constructor(private readonly m: EntityManager) {}
  async createIfNameFree(addon: Addon): Promise<boolean> {
    const insert = insertRow(this.m, AddonEntity, addon);
    const inserted = await query<unknown[]>(this.m, `${insert.text} ON CONFLICT (name) DO NOTHING RETURNING 1`, insert.values);
    return inserted.length > 0;
  }
  findById(id: string) {
    return isUuid(id) ? this.m.findOneBy(AddonEntity, { id }) : Promise.resolve(null);
  }
  findByIds(ids: string[]): Promise<Addon[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.m.findBy(AddonEntity, { id: In(ids) });
  }
  async findWithCatalog(id: string): Promise<{ addon: Addon; service: AddonService; plan: Plan } | null> {
    if (!isUuid(id)) return null;
    const [row] = await query<Record<string, unknown>[]>(
      this.m,
      `SELECT ${selectList(this.m, AddonEntity, 'a', 'a.')}, ${selectList(this.m, AddonServiceEntity, 's', 's.')}, ${selectList(this.m, PlanEntity, 'p', 'p.')}
         FROM addons a JOIN addon_services s ON s.id = a.service_id JOIN plans p ON p.id = a.plan_id
        WHERE a.id = $1`,
      [id],
    );
    return row ? { addon: unprefixed(row, 'a.'), service: unprefixed(row, 's.'), plan: unprefixed(row, 'p.') } : null;
  }
  async holdCreation(id: string): Promise<void> {
    await query(this.m, 'SELECT pg_advisory_xact_lock($1, hashtext($2))', [CREATION_LOCK, id]);
  }
  /** Waits until no transaction holds the add-on's creation lock (taken and let go at once outside a transaction). */
  async awaitCreation(id: string): Promise<void> {
    await query(this.m, 'SELECT pg_advisory_xact_lock_shared($1, hashtext($2))', [CREATION_LOCK, id]);
  }
  findByIdOrName(idOrName: string) {
    if (!storable(idOrName)) return Promise.resolve(null);
    return this.m.findOneBy(AddonEntity, isUuid(idOrName) ? { id: idOrName } : { name: idOrName });
  }
  findByIdForUpdate(id: string) {
    return this.m.createQueryBuilder(AddonEntity, 'a').setLock('pessimistic_write').where('a.id = :id', { id }).getOne();
  }
  async update(id: string, patch: Partial<Addon>): Promise<void> {
    await this.m.update(AddonEntity, { id }, patch);
  }
  async updateIfInState(id: string, state: AddonState, patch: Partial<Addon>): Promise<Addon | null> {
    const { assignments, values } = setClause(this.m, AddonEntity, patch, 3);
    // TypeORM answers an UPDATE with [rows, row count].
    const [[row]] = await query<[Addon[], number]>(
      this.m,
      `UPDATE addons a SET ${assignments} WHERE a.id = $1 AND a.state = $2 RETURNING ${selectList(this.m, AddonEntity, 'a')}`,
      [id, state, ...values],
    );
    return row ?? null;
  }
  async isNameTaken(name: string): Promise<boolean> {
    return (await this.m.countBy(AddonEntity, { name })) > 0;
  }
  listForApp(appId: string, range: RangeSpec): Promise<Page<Addon>> {
    const qb = this.m
      .createQueryBuilder(AddonEntity, 'x')
      .where("x.state <> 'deprovisioned'")
      .andWhere('(x.app_id = :appId OR EXISTS (SELECT 1 FROM addon_attachments t WHERE t.addon_id = x.id AND t.app_id = :appId))', { appId });
    return paginate(qb, range, byNameOrId, (a) => (range.field === 'id' ? a.id : a.name));
  }
  listVisible(accountId: string, range: RangeSpec): Promise<Page<Addon>> {
    const qb = this.m
      .createQueryBuilder(AddonEntity, 'x')
      .where("x.state <> 'deprovisioned'")
      .andWhere(
        `EXISTS (SELECT 1 FROM apps a WHERE a.deleted_at IS NULL
           AND (a.id = x.app_id OR a.id IN (SELECT t.app_id FROM addon_attachments t WHERE t.addon_id = x.id))
           AND ${appMemberSql('a', ':accountId')})`,
        { accountId },
      );
    return paginate(qb, range, byNameOrId, (a) => (range.field === 'id' ? a.id : a.name));
  }
  listOwnedByApp(appId: string): Promise<Addon[]> {
    return this.m.createQueryBuilder(AddonEntity, 'a').where("a.app_id = :appId AND a.state <> 'deprovisioned'", { appId }).getMany();
  }
  listBilledTo(appIds: string[], since: Date): Promise<Addon[]> {
    if (!appIds.length) return Promise.resolve([]);
    return this.m
      .createQueryBuilder(AddonEntity, 'a')
      .where("a.app_id = ANY(:appIds) AND (a.state <> 'deprovisioned' OR a.updated_at >= :since)", { appIds, since })
      .orderBy('a.name')
      .getMany();
  }
  countLiveOnApp(appId: string, serviceId: string): Promise<number> {
    return this.m
      .createQueryBuilder(AddonEntity, 'a')
      .where("a.app_id = :appId AND a.service_id = :serviceId AND a.state IN ('provisioning', 'provisioned')", { appId, serviceId })
      .getCount();
  }
  findStuck(olderThan: Date, limit: number): Promise<Addon[]> {
    return this.m
      .createQueryBuilder(AddonEntity, 'a')
      // Async provisions waiting on their vendor are not stuck (their deadline handles them), and
      // must not crowd genuinely stuck add-ons out of the batch.
      .where(
        "((a.state = 'provisioning' AND a.async_deadline_at IS NULL) OR a.state = 'deprovisioning' OR a.pending_plan_id IS NOT NULL OR a.cleanup_pending)",
      )
      .andWhere('a.updated_at < :olderThan', { olderThan })
      .orderBy('a.updated_at')
      .take(limit)
      .getMany();
  }
  findAsyncPastDeadline(now: Date, limit: number): Promise<Addon[]> {
    return this.m
      .createQueryBuilder(AddonEntity, 'a')
      .where("a.state = 'provisioning' AND a.async_deadline_at IS NOT NULL AND a.async_deadline_at < :now", { now })
      .take(limit)
      .getMany();
  }

}
