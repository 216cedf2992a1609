import { EntityManager, In } from 'typeorm';
import { Page, RangeSpec } from '@app/common';
import { Plan, PlanRepository } from '@app/domain';
import { PlanEntity } from '../entities';
import { paginate } from './paginate';
import { byNameOrId, isUuid, storable } from './query-helpers';

export class TypeOrmPlans implements PlanRepository {
  constructor(private readonly m: EntityManager) {}
  listByService(serviceId: string, range: RangeSpec): Promise<Page<Plan>> {
    const qb = this.m.createQueryBuilder(PlanEntity, 'x').where('x.service_id = :serviceId', { serviceId });
    return paginate(qb, range, byNameOrId, (p) => (range.field === 'id' ? p.id : p.name));
  }
  allByService(serviceId: string): Promise<Plan[]> {
    return this.m.find(PlanEntity, { where: { serviceId }, order: { priceCents: 'ASC', name: 'ASC' } });
  }
  findById(id: string) {
    return isUuid(id) ? this.m.findOneBy(PlanEntity, { id }) : Promise.resolve(null);
  }
  findByIds(ids: string[]): Promise<Plan[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.m.findBy(PlanEntity, { id: In(ids) });
  }
  findByServiceAndIdOrName(serviceId: string, idOrName: string) {
    if (!storable(idOrName)) return Promise.resolve(null);
    return this.m.findOneBy(PlanEntity, isUuid(idOrName) ? { serviceId, id: idOrName } : { serviceId, name: idOrName });
  }
  async save(plan: Plan): Promise<Plan> {
    // Clear the old default first: the partial unique index allows one default per service.
    if (plan.isDefault) {
      await this.m
        .createQueryBuilder()
        .update(PlanEntity)
        .set({ isDefault: false })
        .where('service_id = :serviceId AND id <> :id AND is_default', { serviceId: plan.serviceId, id: plan.id })
        .execute();
    }
    await this.m.upsert(PlanEntity, plan, ['id']);
    return plan;
  }
}
