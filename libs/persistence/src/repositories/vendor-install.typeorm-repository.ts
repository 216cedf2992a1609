import { EntityManager } from 'typeorm';
import { Page, RangeNotSatisfiableError, RangeSpec, nextRangeAfter } from '@app/common';
import { VendorInstall, VendorInstallRepository } from '@app/domain';
import { isUuid } from './query-helpers';
import { query } from './sql';

interface Row {
  attachmentId: string;
  attachmentName: string;
  attachedAt: Date;
  appId: string;
  appName: string;
  addonId: string;
  addonName: string;
  addonState: string;
  providerId: string | null;
  planId: string;
  planName: string;
  ownerEmail: string;
}

/**
 * A service's installs in one query: attachments of its live add-ons to live apps, with the
 * apps' owners. Ordered by attachment time (ties by id) or by attachment id.
 */
export class TypeOrmVendorInstalls extends VendorInstallRepository {
  constructor(private readonly m: EntityManager) {
    super();
  }

  async listForService(serviceId: string, range: RangeSpec): Promise<Page<VendorInstall>> {
    const byTime = range.field === 'attached_at';
    const desc = range.order === 'desc';
    const params: unknown[] = [serviceId];
    const where: string[] = [];
    const bound = (value: string) => {
      if (byTime ? Number.isNaN(Date.parse(value)) : !isUuid(value)) throw new RangeNotSatisfiableError(`Invalid Range bound for ${range.field}: ${value}`);
      params.push(byTime ? new Date(value).toISOString() : value);
      return `$${params.length}`;
    };
    const column = byTime ? 't.created_at' : 't.id';
    if (range.start !== undefined) where.push(`${column} ${desc ? (range.startExclusive ? '<' : '<=') : range.startExclusive ? '>' : '>='} ${bound(range.start)}`);
    if (range.end !== undefined) where.push(`${column} ${desc ? (range.endExclusive ? '>' : '>=') : range.endExclusive ? '<' : '<='} ${bound(range.end)}`);
    params.push(range.max + 1);
    const order = desc ? 'DESC' : 'ASC';
    const rows = await query<Row[]>(
      this.m,
      `SELECT t.id AS "attachmentId", t.name AS "attachmentName", t.created_at AS "attachedAt",
              p.id AS "appId", p.name AS "appName",
              a.id AS "addonId", a.name AS "addonName", a.state AS "addonState", a.provider_id AS "providerId",
              pl.id AS "planId", pl.name AS "planName", o.email AS "ownerEmail"
         FROM addons a
         JOIN addon_attachments t ON t.addon_id = a.id
         JOIN apps p ON p.id = t.app_id AND p.deleted_at IS NULL
         JOIN plans pl ON pl.id = a.plan_id
         JOIN accounts o ON o.id = p.owner_account_id
        WHERE a.service_id = $1 AND a.state <> 'deprovisioned'${where.map((w) => ` AND ${w}`).join('')}
        ORDER BY ${column} ${order}, t.id ${order}
        LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, range.max).map(
      (r): VendorInstall => ({
        attachment: { id: r.attachmentId, name: r.attachmentName, createdAt: r.attachedAt },
        app: { id: r.appId, name: r.appName },
        addon: { id: r.addonId, name: r.addonName, state: r.addonState, providerId: r.providerId },
        plan: { id: r.planId, name: r.planName },
        ownerEmail: r.ownerEmail,
      }),
    );
    if (rows.length <= range.max) return { items };
    const last = items[items.length - 1];
    return { items, nextRange: nextRangeAfter(range, byTime ? last.attachment.createdAt.toISOString() : last.attachment.id) };
  }
}
