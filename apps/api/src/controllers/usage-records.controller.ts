import { ArgumentsHost, Body, Catch, Controller, ExceptionFilter, ForbiddenException, Param, Post, UseFilters } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { CurrentPrincipal, Principal } from '@app/auth';
import { UsageIngestion, UsageRecordInput, UsageRecordsInvalidError } from '@app/domain';
import { ReportUsageRequestDto } from '../dto/usage-records.dto';
import { Partner, Vendor } from '../http/auth.decorators';
import { toUsageRecordsErrorResponse, toUsageRecordsResponse } from '../mappers/usage-records.mapper';

/**
 * A refused report lists every refused record. The global ErrorFilter renders `{id, message}`
 * (with `errors` for manifests only), so this route renders its own 422 body.
 */
@Catch(UsageRecordsInvalidError)
class UsageRecordsInvalidFilter implements ExceptionFilter {
  catch(error: UsageRecordsInvalidError, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<Response>().status(422).type('application/json').send(JSON.stringify(toUsageRecordsErrorResponse(error)));
  }
}

/** Vendor-reported usage of metered plans (DESIGN §6), with the partner token of the add-on. */
@ApiTags('billing')
@Controller()
@UseFilters(UsageRecordsInvalidFilter)
export class UsageRecordsController {
  constructor(private readonly ingestion: UsageIngestion) {}

  @Post('addons/:addon/usage')
  @Partner()
  async report(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Body() body: ReportUsageRequestDto) {
    return toUsageRecordsResponse(await this.ingestion.report(scoped(principal, addon), recordsOf(body)));
  }

  /** The same with the vendor's credentials (the tooling's), for usage of add-ons that are gone. */
  @Post('api/v3/addons/:slug/addons/:addon/usage')
  @Vendor()
  async reportAsVendor(@CurrentPrincipal() principal: Principal, @Param('slug') slug: string, @Param('addon') addon: string, @Body() body: ReportUsageRequestDto) {
    const actor = principal.kind === 'account' ? { kind: 'account' as const, accountId: principal.account.id } : { kind: 'service' as const, serviceId: (principal as { serviceId: string }).serviceId };
    return toUsageRecordsResponse(await this.ingestion.reportAsVendor(actor, slug, addon, recordsOf(body)));
  }
}

const recordsOf = (body: ReportUsageRequestDto): UsageRecordInput[] =>
  (body.records ?? [body]).map(({ id, dimension, quantity, timestamp }) => ({ id, dimension, quantity, timestamp }));

/** A partner token reaches only the add-on it was issued for. */
function scoped(principal: Principal, addon: string): string {
  if (principal.kind !== 'partner' || principal.addonId !== addon) throw new ForbiddenException('This token is not valid for that add-on.');
  return principal.addonId;
}
