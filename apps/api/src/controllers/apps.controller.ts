import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, NotFoundException, Param, Patch, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { CurrentPrincipal, Principal } from '@app/auth';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AppsService, DeleteAppUseCase } from '@app/domain';
import { CreateAppRequestDto, CreateCollaboratorRequestDto, UpdateAppRequestDto } from '../dto/app.dto';
import { Developer } from '../http/auth.decorators';
import { rangeFrom, sendPage } from '../http/range';
import { toAccountResponse, toAppResponse } from '../mappers/app.mapper';
import { account } from './account.controller';

const APP_RANGE = ['name', 'id'] as const;

@ApiTags('apps')
@Controller()
@Developer()
export class AppsController {
  constructor(
    private readonly apps: AppsService,
    private readonly deleteApp: DeleteAppUseCase,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('apps')
  async create(@CurrentPrincipal() principal: Principal, @Body() body: CreateAppRequestDto) {
    return toAppResponse(await this.apps.create(account(principal).id, body), this.config.http.publicUrl);
  }

  @Get('apps')
  async list(@CurrentPrincipal() principal: Principal, @Headers('range') range: string | undefined, @Res({ passthrough: true }) res: Response) {
    const page = await this.apps.list(account(principal).id, rangeFrom(range, APP_RANGE));
    return sendPage(res, page, APP_RANGE, (view) => toAppResponse(view, this.config.http.publicUrl));
  }

  @Get('users/:user/apps')
  async listForUser(
    @CurrentPrincipal() principal: Principal,
    @Param('user') user: string,
    @Headers('range') range: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const me = account(principal);
    if (user !== '~' && user !== me.id && user.toLowerCase() !== me.email) throw new NotFoundException("Couldn't find that user.");
    return this.list(principal, range, res);
  }

  @Get('apps/:app')
  async get(@CurrentPrincipal() principal: Principal, @Param('app') app: string) {
    return toAppResponse(await this.apps.get(account(principal).id, app), this.config.http.publicUrl);
  }

  @Patch('apps/:app')
  async update(@CurrentPrincipal() principal: Principal, @Param('app') app: string, @Body() body: UpdateAppRequestDto) {
    const view = body.name ? await this.apps.rename(account(principal).id, app, body.name) : await this.apps.get(account(principal).id, app);
    return toAppResponse(view, this.config.http.publicUrl);
  }

  @Delete('apps/:app')
  async delete(@CurrentPrincipal() principal: Principal, @Param('app') app: string) {
    return toAppResponse(await this.deleteApp.execute(account(principal).id, app), this.config.http.publicUrl);
  }

  @Get('apps/:app/collaborators')
  async collaborators(@CurrentPrincipal() principal: Principal, @Param('app') app: string) {
    const result = await this.apps.listCollaborators(account(principal).id, app);
    return result.accounts.map((a) => ({ app: { id: result.app.id, name: result.app.name }, user: toAccountResponse(a), role: 'collaborator' }));
  }

  @Post('apps/:app/collaborators')
  async addCollaborator(@CurrentPrincipal() principal: Principal, @Param('app') app: string, @Body() body: CreateCollaboratorRequestDto) {
    const added = await this.apps.addCollaborator(account(principal).id, app, body.user);
    return { user: { id: added.id, email: added.email }, role: 'collaborator' };
  }

  @Delete('apps/:app/collaborators/:collaborator')
  @HttpCode(200)
  async removeCollaborator(@CurrentPrincipal() principal: Principal, @Param('app') app: string, @Param('collaborator') collaborator: string) {
    await this.apps.removeCollaborator(account(principal).id, app, collaborator);
    return {};
  }
}
