import { EntityManager } from 'typeorm';
import { Page, RangeSpec, newId } from '@app/common';
import { ConfigChange, Release, ReleaseRepository } from '@app/domain';
import { ReleaseEntity } from '../entities';
import { paginate } from './paginate';
import { isUuid, MAX_INTEGER } from './query-helpers';
import { UnansweredWrites } from './pipelined-transaction';
import { Statement, query } from './sql';

export class TypeOrmReleases implements ReleaseRepository {
  constructor(
    private readonly m: EntityManager,
    private readonly writes?: UnansweredWrites,
  ) {}
  async append(appId: string, description: string, at: Date): Promise<Release> {
    const id = newId();
    const [row] = await query<{ version: number }[]>(
      this.m,
      `INSERT INTO releases (id, app_id, version, description, created_at)
       SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4 FROM releases WHERE app_id = $2
       RETURNING version`,
      [id, appId, description, at],
    );
    return { id, appId, version: Number(row.version), description, createdAt: at };
  }
  async appendWithConfigChange(change: ConfigChange, description: string, at: Date): Promise<void> {
    const write = configChangeWrite(change, description, at);
    // Nothing reads its answer: in a transaction the commit waits for it instead of the caller.
    if (this.writes) this.writes.send(write);
    else await query(this.m, write.text, write.values);
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

/** The vars set and removed, and the app's next release recording it, in one statement. */
function configChangeWrite(change: ConfigChange, description: string, at: Date): Statement {
  return {
    text: `WITH unset_vars AS (DELETE FROM config_vars WHERE app_id = $1 AND name = ANY($2::text[])),
            set_vars AS (INSERT INTO config_vars (app_id, name, value_sealed, attachment_id)
                    SELECT $1, * FROM unnest($3::text[], $4::text[], $5::uuid[])
                    ON CONFLICT (app_id, name) DO UPDATE SET value_sealed = EXCLUDED.value_sealed, attachment_id = EXCLUDED.attachment_id
                    -- A plain var (taken over with confirm) or the attachment's own; never another attachment's.
                    WHERE config_vars.attachment_id IS NULL OR config_vars.attachment_id = EXCLUDED.attachment_id)
       INSERT INTO releases (id, app_id, version, description, created_at)
       SELECT $6, $1, COALESCE(MAX(version), 0) + 1, $7, $8 FROM releases WHERE app_id = $1`,
    values: [
      change.appId,
      change.unset,
      change.set.map((v) => v.name),
      change.set.map((v) => v.valueSealed),
      change.set.map((v) => v.attachmentId),
      newId(),
      description,
      at,
    ],
  };
}
