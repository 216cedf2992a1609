import { EntityManager } from 'typeorm';
import { Page, RangeSpec } from '@app/common';
import { Manifest, ManifestRepository } from '@app/domain';
import { ManifestEntity } from '../entities';
import { paginate } from './paginate';
import { isUuid } from './query-helpers';

export class TypeOrmManifests implements ManifestRepository {
  constructor(private readonly m: EntityManager) {}
  async add(manifest: Manifest): Promise<Manifest> {
    await this.m.insert(ManifestEntity, manifest);
    return manifest;
  }
  list(serviceId: string, range: RangeSpec): Promise<Page<Manifest>> {
    const qb = this.m.createQueryBuilder(ManifestEntity, 'x').where('x.service_id = :serviceId', { serviceId });
    return paginate(qb, range, { id: 'x.id', created_at: 'x.created_at' }, (r) => (range.field === 'id' ? r.id : r.createdAt.toISOString()));
  }
  findById(serviceId: string, id: string) {
    return isUuid(id) ? this.m.findOneBy(ManifestEntity, { serviceId, id }) : Promise.resolve(null);
  }
}
