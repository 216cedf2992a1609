import { EntityManager } from 'typeorm';
import { NewUsageRecord, UsageRecord, UsageRecordRepository, UsageSum } from '@app/domain';
import { isUuid } from './query-helpers';
import { query } from './sql';

const COLUMNS = `service_id AS "serviceId", record_id AS "recordId", addon_id AS "addonId", dimension, quantity, occurred_at AS "occurredAt", received_at AS "receivedAt"`;

type Row = Omit<UsageRecord, 'quantity'> & { quantity: string };

/** pg hands bigint over as text; one record's quantity is a safe integer (checked on the way in). */
const toRecord = (row: Row): UsageRecord => ({ ...row, quantity: Number(row.quantity) });

/** Usage records in hand-written SQL: a report of a thousand records is one statement. */
export class TypeOrmUsageRecords implements UsageRecordRepository {
  constructor(private readonly m: EntityManager) {}

  async addBatch(records: NewUsageRecord[]): Promise<UsageRecord[]> {
    if (records.length === 0) return [];
    // Rows go in key order, so concurrent batches holding the same ids in other orders wait on
    // one another instead of deadlocking; of two records with one id in a batch the first is
    // stored. An id already stored is skipped, not an error. `received_at` is the database's now().
    const rows = await query<Row[]>(
      this.m,
      `INSERT INTO usage_records (service_id, record_id, addon_id, dimension, quantity, occurred_at)
       SELECT r.service_id, r.record_id, r.addon_id, r.dimension, r.quantity, r.occurred_at
         FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::bigint[], $6::timestamptz[])
              WITH ORDINALITY AS r (service_id, record_id, addon_id, dimension, quantity, occurred_at, n)
        ORDER BY r.service_id, r.record_id, r.n
       ON CONFLICT (service_id, record_id) DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        records.map((r) => r.serviceId),
        records.map((r) => r.recordId),
        records.map((r) => r.addonId),
        records.map((r) => r.dimension),
        records.map((r) => r.quantity),
        records.map((r) => r.occurredAt),
      ],
    );
    return rows.map(toRecord);
  }

  async findByIds(serviceId: string, recordIds: string[]): Promise<UsageRecord[]> {
    if (!isUuid(serviceId) || recordIds.length === 0) return [];
    const rows = await query<Row[]>(this.m, `SELECT ${COLUMNS} FROM usage_records WHERE service_id = $1 AND record_id = ANY($2::text[])`, [serviceId, recordIds]);
    return rows.map(toRecord);
  }

  async sumsFor(addonIds: string[], occurredFrom: Date, occurredTo: Date, receivedBefore?: Date, receivedFrom?: Date): Promise<UsageSum[]> {
    const ids = addonIds.filter(isUuid);
    if (ids.length === 0) return [];
    const rows = await query<{ addonId: string; dimension: string; month: string; quantity: string }[]>(
      this.m,
      `SELECT addon_id AS "addonId", dimension, to_char(date_trunc('month', occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM') AS month, sum(quantity)::text AS quantity
         FROM usage_records
        WHERE addon_id = ANY($1::uuid[]) AND occurred_at >= $2 AND occurred_at < $3
          AND ($4::timestamptz IS NULL OR received_at < $4)
          AND ($5::timestamptz IS NULL OR received_at >= $5)
        GROUP BY addon_id, dimension, 3
        ORDER BY addon_id, dimension, 3`,
      [ids, occurredFrom, occurredTo, receivedBefore ?? null, receivedFrom ?? null],
    );
    return rows.map((row) => ({ ...row, quantity: BigInt(row.quantity) }));
  }
}
