import { Body, Controller, Delete, ForbiddenException, Get, Headers, Param, Patch, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { CurrentPrincipal, Principal } from '@app/auth';
import { AddonWebhooksService, WEBHOOK_RANGE_FIELDS } from '@app/domain';
import { WebhookRequestDto } from '../dto/webhook.dto';
import { Partner } from '../http/auth.decorators';
import { rangeFrom, sendPage } from '../http/range';
import { toWebhookDeliveryResponse, toWebhookEventResponse, toWebhookResponse } from '../mappers/webhook.mapper';

/** Newest first unless the Range says otherwise (ids are time-ordered). */
const newestFirst = (header: string | undefined) => (header ? rangeFrom(header, WEBHOOK_RANGE_FIELDS) : { ...rangeFrom(undefined, WEBHOOK_RANGE_FIELDS), order: 'desc' as const });

/** A vendor's webhooks on its add-on and their delivery log (reference §3.4), with the add-on's partner token. */
@ApiTags('partner')
@Controller('addons/:addon')
@Partner()
export class AddonWebhooksController {
  constructor(private readonly webhooks: AddonWebhooksService) {}

  @Post('webhooks')
  async create(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Body() body: WebhookRequestDto, @Res({ passthrough: true }) res: Response) {
    const created = await this.webhooks.create(scoped(principal, addon), body);
    res.status(201);
    return { ...toWebhookResponse(created.webhook, created.addon), ...(created.generatedSecret ? { secret: created.generatedSecret } : {}) };
  }

  @Get('webhooks')
  async list(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Headers('range') range: string | undefined, @Res({ passthrough: true }) res: Response) {
    const found = await this.webhooks.list(scoped(principal, addon), rangeFrom(range, WEBHOOK_RANGE_FIELDS));
    return sendPage(res, found.page, WEBHOOK_RANGE_FIELDS, (w) => toWebhookResponse(w, found.addon));
  }

  @Get('webhooks/:webhook')
  async get(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('webhook') webhook: string) {
    const found = await this.webhooks.get(scoped(principal, addon), webhook);
    return toWebhookResponse(found.webhook, found.addon);
  }

  @Patch('webhooks/:webhook')
  async update(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('webhook') webhook: string, @Body() body: WebhookRequestDto) {
    const updated = await this.webhooks.update(scoped(principal, addon), webhook, body);
    return toWebhookResponse(updated.webhook, updated.addon);
  }

  @Delete('webhooks/:webhook')
  async delete(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('webhook') webhook: string) {
    const deleted = await this.webhooks.delete(scoped(principal, addon), webhook);
    return toWebhookResponse(deleted.webhook, deleted.addon);
  }

  @Get('webhook-deliveries')
  async deliveries(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Headers('range') range: string | undefined, @Res({ passthrough: true }) res: Response) {
    const found = await this.webhooks.listDeliveries(scoped(principal, addon), newestFirst(range));
    return sendPage(res, found.page, WEBHOOK_RANGE_FIELDS, (d) => toWebhookDeliveryResponse(d, found.addon));
  }

  @Get('webhook-deliveries/:delivery')
  async delivery(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('delivery') delivery: string) {
    const found = await this.webhooks.getDelivery(scoped(principal, addon), delivery);
    return toWebhookDeliveryResponse(found.delivery, found.addon);
  }

  @Get('webhook-events')
  async events(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Headers('range') range: string | undefined, @Res({ passthrough: true }) res: Response) {
    const found = await this.webhooks.listEvents(scoped(principal, addon), newestFirst(range));
    return sendPage(res, found.page, WEBHOOK_RANGE_FIELDS, (e) => toWebhookEventResponse(e, found.addon));
  }

  @Get('webhook-events/:event')
  async event(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('event') event: string) {
    const found = await this.webhooks.getEvent(scoped(principal, addon), event);
    return toWebhookEventResponse(found.event, found.addon);
  }
}

/** A partner token reaches only the add-on it was issued for. */
function scoped(principal: Principal, addon: string): string {
  if (principal.kind !== 'partner' || principal.addonId !== addon) throw new ForbiddenException('This token is not valid for that add-on.');
  return principal.addonId;
}
