import { EntityManager } from 'typeorm';
import { Page, RangeSpec } from '@app/common';
import { Attachment, AttachmentRepository, LockedAttachment } from '@app/domain';
import { AppEntity, AttachmentEntity } from '../entities';
import { paginate } from './paginate';
import { appMemberSql, byNameOrId, isUuid, storable } from './query-helpers';
import { UnansweredWrites } from './pipelined-transaction';
import { insertRow, query, selectList } from './sql';

export class TypeOrmAttachments implements AttachmentRepository {
  constructor(
    private readonly m: EntityManager,
    private readonly writes?: UnansweredWrites,
  ) {}
  async create(attachment: Attachment): Promise<Attachment> {
    const insert = insertRow(this.m, AttachmentEntity, attachment);
    // The caller has the row already: in a transaction the commit waits for the insert instead of the caller.
    if (this.writes) this.writes.send(insert);
    else await query(this.m, insert.text, insert.values);
    return attachment;
  }
  findById(id: string) {
    return isUuid(id) ? this.m.findOneBy(AttachmentEntity, { id }) : Promise.resolve(null);
  }
  findByAppAndName(appId: string, name: string) {
    if (!storable(name)) return Promise.resolve(null);
    return this.m.findOneBy(AttachmentEntity, { appId, name });
  }
  listForAddon(addonId: string): Promise<Attachment[]> {
    return this.m.find(AttachmentEntity, { where: { addonId }, order: { createdAt: 'ASC' } });
  }
  listForApp(appId: string, range: RangeSpec): Promise<Page<Attachment>> {
    const qb = this.m.createQueryBuilder(AttachmentEntity, 'x').where('x.app_id = :appId', { appId });
    return paginate(qb, range, byNameOrId, (a) => (range.field === 'id' ? a.id : a.name));
  }
  listVisible(accountId: string, range: RangeSpec): Promise<Page<Attachment>> {
    const qb = this.m
      .createQueryBuilder(AttachmentEntity, 'x')
      .innerJoin(AppEntity, 'a', 'a.id = x.app_id AND a.deleted_at IS NULL')
      .where(appMemberSql('a', ':accountId'), { accountId });
    return paginate(qb, range, byNameOrId, (a) => (range.field === 'id' ? a.id : a.name));
  }
  async lockAppsForAddon(addonId: string): Promise<LockedAttachment[]> {
    const rows = await query<(Attachment & { vars: { name: string; valueSealed: string }[] | null; takenByOthers: string[] })[]>(
      this.m,
      `SELECT ${selectList(this.m, AttachmentEntity, 't')},
              (SELECT json_agg(json_build_object('name', v.name, 'valueSealed', v.value_sealed))
                 FROM config_vars v WHERE v.attachment_id = t.id) AS vars,
              ARRAY(SELECT o.name FROM config_vars o WHERE o.app_id = t.app_id AND o.attachment_id <> t.id ORDER BY o.name) AS "takenByOthers"
         FROM addon_attachments t JOIN apps a ON a.id = t.app_id
        WHERE t.addon_id = $1
        ORDER BY t.app_id
          FOR UPDATE OF a`,
      [addonId],
    );
    return rows.map(({ vars, takenByOthers, ...attachment }) => ({
      attachment,
      vars: (vars ?? []).map((v) => ({ appId: attachment.appId, name: v.name, valueSealed: v.valueSealed, attachmentId: attachment.id })),
      takenByOthers,
    }));
  }
  async namesOnApp(appId: string): Promise<string[]> {
    return (await this.m.find(AttachmentEntity, { where: { appId }, select: { name: true } })).map((a) => a.name);
  }
  async delete(id: string): Promise<void> {
    await this.m.delete(AttachmentEntity, { id });
  }
}
