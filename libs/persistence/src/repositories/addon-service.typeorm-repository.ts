import { Brackets, EntityManager, In } from 'typeorm';
import { Page, RangeSpec } from '@app/common';
import { AddonService, ServiceRepository } from '@app/domain';
import { AddonServiceEntity } from '../entities';
import { paginate } from './paginate';
import { isUuid, storable } from './query-helpers';

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
  findByIdOrSlug(idOrSlug: string) {
    if (!storable(idOrSlug)) return Promise.resolve(null);
    return this.m.findOneBy(AddonServiceEntity, isUuid(idOrSlug) ? { id: idOrSlug } : { slug: idOrSlug });
  }
  findById(id: string) {
    return this.m.findOneBy(AddonServiceEntity, { id });
  }
  findByIds(ids: string[]): Promise<AddonService[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.m.findBy(AddonServiceEntity, { id: In(ids) });
  }
  async save(service: AddonService): Promise<AddonService> {
    await this.m.upsert(AddonServiceEntity, service, ['id']);
    return service;
  }
}
