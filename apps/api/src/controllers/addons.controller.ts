import { Body, Controller, Delete, ForbiddenException, Get, Headers, HttpCode, Inject, Param, Patch, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { CurrentPrincipal, Principal } from '@app/auth';
import { InvalidInputError } from '@app/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AddonQueries, CreateAddonUseCase, ManageAddonUseCase, PartnerService } from '@app/domain';
import { CreateAddonRequestDto, DeleteAddonRequestDto, UpdateAddonRequestDto } from '../dto/addon.dto';
import { UpdateAddonConfigRequestDto } from '../dto/partner.dto';
import { Developer, DeveloperOrPartner, Partner } from '../http/auth.decorators';
import { rangeFrom, sendPage } from '../http/range';
import { refOf } from '../http/validation';
import { toAddonResponse, toAttachmentResponse } from '../mappers/addon.mapper';
import { account } from './account.controller';

const RANGE = ['name', 'id'] as const;

@ApiTags('add-ons')
@Controller()
export class AddonsController {
  constructor(
    private readonly queries: AddonQueries,
    private readonly create: CreateAddonUseCase,
    private readonly manage: ManageAddonUseCase,
    private readonly partner: PartnerService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.publicUrl = config.http.publicUrl;
  }

  /** The base of add-ons' `web_url`. */
  private readonly publicUrl: string;

  @Get('addons')
  @Developer()
  async list(@CurrentPrincipal() principal: Principal, @Headers('range') range: string | undefined, @Res({ passthrough: true }) res: Response) {
    return sendPage(res, await this.queries.listVisible(account(principal).id, rangeFrom(range, RANGE)), RANGE, (view) => toAddonResponse(view, this.publicUrl));
  }

  @Get('apps/:app/addons')
  @Developer()
  async listForApp(
    @CurrentPrincipal() principal: Principal,
    @Param('app') app: string,
    @Headers('range') range: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return sendPage(res, await this.queries.listForApp(account(principal).id, app, rangeFrom(range, RANGE)), RANGE, (view) => toAddonResponse(view, this.publicUrl));
  }

  @Post('apps/:app/addons')
  @Developer()
  async createAddon(
    @CurrentPrincipal() principal: Principal,
    @Param('app') app: string,
    @Body() body: CreateAddonRequestDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    const view = await this.create.execute(account(principal).id, app, {
      plan: refOf(body.plan)!,
      name: body.name,
      attachmentName: body.attachment?.name,
      options: body.config,
      confirm: body.confirm,
    });
    res.status(201);
    return toAddonResponse(view, this.publicUrl);
  }

  @Get('apps/:app/addons/:addon')
  @Developer()
  async getOnApp(@CurrentPrincipal() principal: Principal, @Param('app') app: string, @Param('addon') addon: string) {
    return toAddonResponse(await this.queries.getOnApp(account(principal).id, app, addon), this.publicUrl);
  }

  @Patch('apps/:app/addons/:addon')
  @Developer()
  async updateOnApp(@CurrentPrincipal() principal: Principal, @Param('app') app: string, @Param('addon') addon: string, @Body() body: UpdateAddonRequestDto) {
    return this.update(account(principal).id, app, addon, body);
  }

  @Patch('addons/:addon')
  @Developer()
  async updateAddon(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Body() body: UpdateAddonRequestDto) {
    return this.update(account(principal).id, null, addon, body);
  }

  @Delete('apps/:app/addons/:addon')
  @Developer()
  async destroyOnApp(@CurrentPrincipal() principal: Principal, @Param('app') app: string, @Param('addon') addon: string, @Body() body: DeleteAddonRequestDto) {
    return toAddonResponse(await this.manage.destroy(account(principal).id, app, addon, body?.force === true), this.publicUrl);
  }

  @Delete('addons/:addon')
  @Developer()
  async destroy(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Body() body: DeleteAddonRequestDto) {
    return toAddonResponse(await this.manage.destroy(account(principal).id, null, addon, body?.force === true), this.publicUrl);
  }

  @Get('addons/:addon')
  @DeveloperOrPartner()
  async get(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    if (principal.kind === 'partner') return toAddonResponse(await this.partner.getAddon(await this.scoped(principal, addon)), this.publicUrl);
    return toAddonResponse(await this.queries.get(account(principal).id, addon), this.publicUrl);
  }

  @Get('addons/:addon/addon-attachments')
  @DeveloperOrPartner()
  async attachments(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    const views =
      principal.kind === 'partner'
        ? await this.partner.attachments(await this.scoped(principal, addon))
        : await this.queries.listAttachmentsForAddon(account(principal).id, addon);
    return views.map((view) => toAttachmentResponse(view, this.publicUrl));
  }

  @Get('addons/:addon/config')
  @DeveloperOrPartner()
  async config(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    const id = principal.kind === 'partner' ? await this.scoped(principal, addon) : (await this.queries.get(account(principal).id, addon)).addon.id;
    return this.partner.getConfig(id);
  }

  @Get('addons/:addon/config/:namespace')
  @Developer()
  async namespaceConfig(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('namespace') namespace: string) {
    return this.queries.namespaceConfig(account(principal).id, addon, namespace);
  }

  @Patch('addons/:addon/config')
  @Partner()
  async updateConfig(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Body() body: UpdateAddonConfigRequestDto) {
    return this.partner.updateConfig(await this.scoped(principal, addon), body.config);
  }

  @Post('addons/:addon/actions/provision')
  @HttpCode(200)
  @Partner()
  async provisioned(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return toAddonResponse(await this.partner.provisioned(await this.scoped(principal, addon)), this.publicUrl);
  }

  @Post('addons/:addon/actions/deprovision')
  @HttpCode(200)
  @Partner()
  async deprovisioned(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return toAddonResponse(await this.partner.deprovisioned(await this.scoped(principal, addon)), this.publicUrl);
  }

  private async update(accountId: string, app: string | null, addon: string, body: UpdateAddonRequestDto) {
    const plan = body.plan === undefined ? null : refOf(body.plan);
    if (plan === null && !body.name) throw new InvalidInputError('Pass a plan to change to, or a new name.');
    const view = await this.manage.update(accountId, app, addon, { plan, name: body.name || null });
    return toAddonResponse(view, this.publicUrl, { asRequested: plan !== null });
  }

  /** A partner token reaches only the add-on it was issued for. */
  private async scoped(principal: Principal, addon: string): Promise<string> {
    if (principal.kind !== 'partner' || principal.addonId !== addon) {
      throw new ForbiddenException('This token is not valid for that add-on.');
    }
    return principal.addonId;
  }
}
