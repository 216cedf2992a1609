import { Brackets, EntityManager, In } from 'typeorm';
import { Page, RangeSpec } from '@app/common';
import { AddonService, Plan, ServiceRepository } from '@app/domain';
import { AddonServiceEntity, PlanEntity } from '../entities';
import { paginate } from './paginate';
import { isUuid, storable } from './query-helpers';
import { query, selectList, unprefixed } from './sql';

export class TypeOrmServices implements ServiceRepository {
  constructor(private readonly m: EntityManager) {}
  listVisible(viewerId: string | null, range: RangeSpec): Promise<Page<AddonService>> {
    const qb = this.m.createQueryBuilder(AddonServiceEntity, 'x').where(
      new Brackets((w) => {
        w.where('x.published');
        if (viewerId) w.orWhere('x.owner_account_id = :viewerId', { viewerId });
      }),
    );
    return paginate(qb, range, { id: 'x.id', name: 'x.slug' }, (s) => (range.field === 'id' ? s.id : s.slug));
  }
  listOwnedBy(accountId: string | null): Promise<AddonService[]> {
    const qb = this.m.createQueryBuilder(AddonServiceEntity, 'x').orderBy('x.slug');
    if (accountId === null) qb.where('x.owner_account_id IS NOT NULL');
    else qb.where('x.owner_account_id = :accountId', { accountId });
    return qb.getMany();
  }
  findByIdOrSlug(idOrSlug: string) {
    if (!storable(idOrSlug)) return Promise.resolve(null);
    return this.m.findOneBy(AddonServiceEntity, isUuid(idOrSlug) ? { id: idOrSlug } : { slug: idOrSlug });
  }
  async findWithPlan(serviceIdOrSlug: string, planIdOrName: string): Promise<{ service: AddonService; plan: Plan | null } | null> {
    if (!storable(serviceIdOrSlug) || !storable(planIdOrName)) return null;
    const [row] = await query<Record<string, unknown>[]>(
      this.m,
      `SELECT ${selectList(this.m, AddonServiceEntity, 's', 's.')}, ${selectList(this.m, PlanEntity, 'p', 'p.')}
         FROM addon_services s LEFT JOIN plans p ON p.service_id = s.id AND p.${isUuid(planIdOrName) ? 'id' : 'name'} = $2
        WHERE s.${isUuid(serviceIdOrSlug) ? 'id' : 'slug'} = $1`,
      [serviceIdOrSlug, planIdOrName],
    );
    if (!row) return null;
    return { service: unprefixed(row, 's.'), plan: row['p.id'] === null ? null : unprefixed(row, 'p.') };
  }
  findById(id: string) {
    return this.m.findOneBy(AddonServiceEntity, { id });
  }
  findByIds(ids: string[]): Promise<AddonService[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.m.findBy(AddonServiceEntity, { id: In(ids) });
  }
  findByIdOrSlugForUpdate(idOrSlug: string): Promise<AddonService | null> {
    if (!storable(idOrSlug)) return Promise.resolve(null);
    return this.m
      .createQueryBuilder(AddonServiceEntity, 's')
      .setLock('pessimistic_write')
      .where(isUuid(idOrSlug) ? 's.id = :idOrSlug' : 's.slug = :idOrSlug', { idOrSlug })
      .getOne();
  }
  async update(id: string, patch: Partial<AddonService>): Promise<void> {
    await this.m.update(AddonServiceEntity, { id }, patch);
  }
  async save(service: AddonService): Promise<AddonService> {
    await this.m.upsert(AddonServiceEntity, service, ['id']);
    return service;
  }
}
