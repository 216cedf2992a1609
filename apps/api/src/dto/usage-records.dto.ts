import { Allow, ArrayMaxSize, ArrayMinSize, IsArray, IsObject, ValidateIf } from 'class-validator';
import { MAX_USAGE_BATCH } from '@app/domain';

/**
 * `POST /addons/{id}/usage`: one record (`{id, dimension, quantity, timestamp}`) or a batch
 * (`{records: [...]}`, 1 to 1000). Only the envelope is checked here. The records' fields are
 * checked by the domain (UsageIngestion), all of them, so that a refused report lists every
 * refused record by position in one `errors` array, and a batch of a thousand is not checked twice.
 */
export class ReportUsageRequestDto {
  @ValidateIf((o: ReportUsageRequestDto) => o.records !== undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_USAGE_BATCH)
  @IsObject({ each: true })
  records?: Record<string, unknown>[];

  @Allow() id?: unknown;
  @Allow() dimension?: unknown;
  @Allow() quantity?: unknown;
  @Allow() timestamp?: unknown;
}
