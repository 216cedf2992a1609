import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { CurrentPrincipal, Principal } from '@app/auth';
import { INVOICE_CSV_HEADER, InvoicingService, PayoutReports, invoiceCsvRows, payoutCsv } from '@app/domain';
import { Developer, Vendor } from '../http/auth.decorators';
import { rangeFrom, sendPage } from '../http/range';
import { toInvoiceResponse, toPayoutResponse } from '../mappers/invoice.mapper';
import { account } from './account.controller';

const INVOICE_RANGE = ['month', 'number'] as const;
/** Newest first by default. */
const invoiceRange = (header: string | undefined) => (header ? rangeFrom(header, INVOICE_RANGE) : { ...rangeFrom(undefined, INVOICE_RANGE), order: 'desc' as const });

/** CSV when asked for by `Accept: text/csv` or `?format=csv`. */
const wantsCsv = (accept: string | undefined, format: string | undefined) => format === 'csv' || (accept ?? '').includes('text/csv');

function sendCsv(res: Response, filename: string, body: string): string {
  res.type('text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
  return body;
}

/** Monthly invoices of an account or a team, and what vendors earned (DESIGN §6). */
@ApiTags('billing')
@Controller()
export class InvoicesController {
  constructor(
    private readonly invoices: InvoicingService,
    private readonly payouts: PayoutReports,
  ) {}

  /** Newest first unless the Range says otherwise (`month` or `number`). */
  @Get('account/invoices')
  @Developer()
  async accountInvoices(@CurrentPrincipal() principal: Principal, @Headers('range') range: string | undefined, @Res({ passthrough: true }) res: Response) {
    const page = await this.invoices.listForAccount(account(principal).id, invoiceRange(range));
    return sendPage(res, page, INVOICE_RANGE, (i) => toInvoiceResponse(i));
  }

  @Get('account/invoices/:number')
  @Developer()
  async accountInvoice(
    @CurrentPrincipal() principal: Principal,
    @Param('number') number: string,
    @Headers('accept') accept: string | undefined,
    @Query('format') format: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { invoice, lines } = await this.invoices.get(account(principal).id, number);
    if (wantsCsv(accept, format)) return sendCsv(res, `invoice-${invoice.number}.csv`, INVOICE_CSV_HEADER + invoiceCsvRows(invoice, lines));
    return toInvoiceResponse(invoice, lines);
  }

  @Get('teams/:team/invoices')
  @Developer()
  async teamInvoices(
    @CurrentPrincipal() principal: Principal,
    @Param('team') team: string,
    @Headers('range') range: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const page = await this.invoices.listForTeam(account(principal).id, team, invoiceRange(range));
    return sendPage(res, page, INVOICE_RANGE, (i) => toInvoiceResponse(i));
  }

  @Get('teams/:team/invoices/:number')
  @Developer()
  async teamInvoice(
    @CurrentPrincipal() principal: Principal,
    @Param('team') team: string,
    @Param('number') number: string,
    @Headers('accept') accept: string | undefined,
    @Query('format') format: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { invoice, lines } = await this.invoices.get(account(principal).id, number, team);
    if (wantsCsv(accept, format)) return sendCsv(res, `invoice-${invoice.number}.csv`, INVOICE_CSV_HEADER + invoiceCsvRows(invoice, lines));
    return toInvoiceResponse(invoice, lines);
  }

  /** Every service the account publishes. */
  @Get('account/payouts/:month')
  @Developer()
  async accountPayouts(
    @CurrentPrincipal() principal: Principal,
    @Param('month') month: string,
    @Headers('accept') accept: string | undefined,
    @Query('format') format: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const report = await this.payouts.forAccount(account(principal).id, month);
    return wantsCsv(accept, format) ? sendCsv(res, `payouts-${report.month}.csv`, payoutCsv(report)) : toPayoutResponse(report);
  }

  /** One service, on the vendor tooling's paths and credentials. */
  @Get('api/v3/addons/:slug/payouts/:month')
  @Vendor()
  async servicePayouts(
    @CurrentPrincipal() principal: Principal,
    @Param('slug') slug: string,
    @Param('month') month: string,
    @Headers('accept') accept: string | undefined,
    @Query('format') format: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const actor = principal.kind === 'account' ? { kind: 'account' as const, accountId: principal.account.id } : { kind: 'service' as const, serviceId: (principal as { serviceId: string }).serviceId };
    const report = await this.payouts.forService(actor, slug, month);
    return wantsCsv(accept, format) ? sendCsv(res, `payouts-${slug}-${report.month}.csv`, payoutCsv(report)) : toPayoutResponse(report);
  }
}
