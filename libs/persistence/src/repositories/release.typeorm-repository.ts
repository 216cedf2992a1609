import { EntityManager } from 'typeorm';
import { Page, RangeSpec, newId } from '@app/common';
import { Release, ReleaseRepository } from '@app/domain';
import { ReleaseEntity } from '../entities';
import { paginate } from './paginate';
import { isUuid, MAX_INTEGER } from './query-helpers';

export class TypeOrmReleases implements ReleaseRepository {
  constructor(private readonly m: EntityManager) {}
  async append(appId: string, description: string, at: Date): Promise<Release> {
    const id = newId();
    const [row]: { version: number }[] = await this.m.query(
      `INSERT INTO releases (id, app_id, version, description, created_at)
       SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4 FROM releases WHERE app_id = $2
       RETURNING version`,
      [id, appId, description, at],
    );
    return { id, appId, version: Number(row.version), description, createdAt: at };
  }
  list(appId: string, range: RangeSpec): Promise<Page<Release>> {
    const qb = this.m.createQueryBuilder(ReleaseEntity, 'x').where('x.app_id = :appId', { appId });
    return paginate(qb, range, { id: 'x.id', version: 'x.version' }, (r) => (range.field === 'id' ? r.id : String(r.version)));
  }
  findByIdOrVersion(appId: string, idOrVersion: string) {
    if (isUuid(idOrVersion)) return this.m.findOneBy(ReleaseEntity, { appId, id: idOrVersion });
    const version = Number(idOrVersion);
    // Out of the column's range (or not a version at all) is simply not found.
    return Number.isInteger(version) && Math.abs(version) <= MAX_INTEGER ? this.m.findOneBy(ReleaseEntity, { appId, version }) : Promise.resolve(null);
  }
}
