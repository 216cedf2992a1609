import { UsageRecordsInvalidError, UsageReportResult } from '@app/domain';

export const toUsageRecordsResponse = (result: UsageReportResult) => ({
  records: result.records.map(({ record, duplicate }) => ({
    id: record.recordId,
    addon: { id: record.addonId },
    dimension: record.dimension,
    quantity: record.quantity,
    timestamp: record.occurredAt,
    received_at: record.receivedAt,
    duplicate,
  })),
  accepted: result.accepted,
  duplicates: result.duplicates,
});

/** `{id, message, errors}`: each refused record by its position, its id and why. */
export const toUsageRecordsErrorResponse = (error: UsageRecordsInvalidError) => ({
  id: error.code,
  message: error.message,
  errors: error.errors.map((e) => ({ index: e.index, id: e.code, record_id: e.recordId, message: e.message })),
});
