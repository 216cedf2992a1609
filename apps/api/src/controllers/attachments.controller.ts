import { Body, Controller, Delete, Get, Headers, Inject, Param, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { CurrentPrincipal, Principal } from '@app/auth';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AddonQueries, AttachAddonUseCase } from '@app/domain';
import { CreateAttachmentRequestDto, ResolveAddonRequestDto, ResolveAttachmentRequestDto } from '../dto/addon.dto';
import { Developer } from '../http/auth.decorators';
import { rangeFrom, sendPage } from '../http/range';
import { refOf } from '../http/validation';
import { toAddonResponse, toAttachmentResponse } from '../mappers/addon.mapper';
import { account } from './account.controller';

const RANGE = ['name', 'id'] as const;

@ApiTags('add-on attachments')
@Controller()
@Developer()
export class AttachmentsController {
  constructor(
    private readonly queries: AddonQueries,
    private readonly attach: AttachAddonUseCase,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.publicUrl = config.http.publicUrl;
  }

  /** The base of attachments' `web_url`. */
  private readonly publicUrl: string;

  @Get('addon-attachments')
  async list(@CurrentPrincipal() principal: Principal, @Headers('range') range: string | undefined, @Res({ passthrough: true }) res: Response) {
    return sendPage(res, await this.queries.listAttachmentsVisible(account(principal).id, rangeFrom(range, RANGE)), RANGE, (view) => toAttachmentResponse(view, this.publicUrl));
  }

  @Post('addon-attachments')
  async create(@CurrentPrincipal() principal: Principal, @Body() body: CreateAttachmentRequestDto, @Res({ passthrough: true }) res: Response) {
    const view = await this.attach.attach(account(principal).id, {
      addon: refOf(body.addon)!,
      app: refOf(body.app)!,
      name: body.name,
      namespace: body.namespace,
      confirm: body.confirm,
    });
    res.status(201);
    return toAttachmentResponse(view, this.publicUrl);
  }

  @Get('addon-attachments/:attachment')
  async get(@CurrentPrincipal() principal: Principal, @Param('attachment') attachment: string) {
    return toAttachmentResponse(await this.queries.getAttachment(account(principal).id, attachment), this.publicUrl);
  }

  @Delete('addon-attachments/:attachment')
  async delete(@CurrentPrincipal() principal: Principal, @Param('attachment') attachment: string) {
    return toAttachmentResponse(await this.attach.detach(account(principal).id, attachment, null), this.publicUrl);
  }

  @Get('apps/:app/addon-attachments')
  async listForApp(
    @CurrentPrincipal() principal: Principal,
    @Param('app') app: string,
    @Headers('range') range: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return sendPage(res, await this.queries.listAttachmentsForApp(account(principal).id, app, rangeFrom(range, RANGE)), RANGE, (view) => toAttachmentResponse(view, this.publicUrl));
  }

  @Get('apps/:app/addon-attachments/:attachment')
  async getOnApp(@CurrentPrincipal() principal: Principal, @Param('app') app: string, @Param('attachment') attachment: string) {
    return toAttachmentResponse(await this.queries.getAttachmentOnApp(account(principal).id, app, attachment), this.publicUrl);
  }

  @Delete('apps/:app/addon-attachments/:attachment')
  async deleteOnApp(@CurrentPrincipal() principal: Principal, @Param('app') app: string, @Param('attachment') attachment: string) {
    return toAttachmentResponse(await this.attach.detach(account(principal).id, attachment, app), this.publicUrl);
  }

  /** Returns an array, as the Heroku CLI expects; ambiguity is the client's to report. */
  @Post('actions/addons/resolve')
  async resolveAddons(@CurrentPrincipal() principal: Principal, @Body() body: ResolveAddonRequestDto, @Res({ passthrough: true }) res: Response) {
    res.status(200);
    const views = await this.queries.resolveAddons(account(principal).id, body.addon, body.app ?? null, body.addon_service ?? null);
    return views.map((view) => toAddonResponse(view, this.publicUrl));
  }

  @Post('actions/addon-attachments/resolve')
  async resolveAttachments(@CurrentPrincipal() principal: Principal, @Body() body: ResolveAttachmentRequestDto, @Res({ passthrough: true }) res: Response) {
    res.status(200);
    const views = await this.queries.resolveAttachments(account(principal).id, body.addon_attachment, body.app ?? null, body.addon_service ?? null);
    return views.map((view) => toAttachmentResponse(view, this.publicUrl));
  }
}
