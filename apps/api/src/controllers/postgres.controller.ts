import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Put, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { CurrentPrincipal, Principal } from '@app/auth';
import { APP_CONFIG, AppConfig } from '@app/config';
import { PostgresBackupsUseCase, PostgresCredentialsUseCase, PostgresInfoService } from '@app/domain';
import { BackupScheduleRequestDto, CreateCredentialRequestDto, RestoreRequestDto } from '../dto/postgres.dto';
import { Developer } from '../http/auth.decorators';
import { rangeFrom, sendPage } from '../http/range';
import { toBackupResponse, toCredentialResponse, toInfoResponse, toRestoreResponse, toScheduleResponse } from '../mappers/postgres.mapper';
import { account } from './account.controller';

const RANGE = ['created_at', 'id'] as const;
/** Backups and restores are listed newest first unless the Range header says otherwise. */
const newestFirst = (range: string | undefined) => rangeFrom(range ?? 'created_at ..; order=desc', RANGE);

/** First-party PostgreSQL operations, under the add-on (DESIGN §4.1). */
@ApiTags('postgresql')
@Controller('addons/:addon/postgres')
export class PostgresController {
  constructor(
    private readonly info: PostgresInfoService,
    private readonly credentials: PostgresCredentialsUseCase,
    private readonly backups: PostgresBackupsUseCase,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @Developer()
  async show(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return toInfoResponse(await this.info.info(account(principal).id, addon));
  }

  @Get('credentials')
  @Developer()
  async listCredentials(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    const { credentials } = await this.credentials.list(account(principal).id, addon);
    return credentials.map((c) => toCredentialResponse(c));
  }

  @Post('credentials')
  @Developer()
  async createCredential(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Body() body: CreateCredentialRequestDto) {
    const { credential, url } = await this.credentials.create(account(principal).id, addon, body.name);
    return toCredentialResponse(credential, url);
  }

  @Post('credentials/rotate')
  @HttpCode(200)
  @Developer()
  async rotateAll(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return (await this.credentials.rotate(account(principal).id, addon, null)).map((c) => toCredentialResponse(c));
  }

  @Get('credentials/:name')
  @Developer()
  async getCredential(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('name') name: string) {
    const { credential, url } = await this.credentials.get(account(principal).id, addon, name);
    return toCredentialResponse(credential, url);
  }

  @Post('credentials/:name/rotate')
  @HttpCode(200)
  @Developer()
  async rotate(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('name') name: string) {
    const [credential] = await this.credentials.rotate(account(principal).id, addon, name);
    return toCredentialResponse(credential);
  }

  @Delete('credentials/:name')
  @Developer()
  async destroyCredential(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('name') name: string) {
    return toCredentialResponse(await this.credentials.destroy(account(principal).id, addon, name));
  }

  @Get('backups')
  @Developer()
  async listBackups(
    @CurrentPrincipal() principal: Principal,
    @Param('addon') addon: string,
    @Headers('range') range: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return sendPage(res, await this.backups.list(account(principal).id, addon, newestFirst(range)), RANGE, toBackupResponse);
  }

  @Post('backups')
  @HttpCode(202)
  @Developer()
  async capture(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return toBackupResponse(await this.backups.capture(account(principal).id, addon));
  }

  @Get('backups/:backup')
  @Developer()
  async getBackup(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('backup') backup: string) {
    return toBackupResponse(await this.backups.get(account(principal).id, addon, backup));
  }

  @Post('backups/:backup/download-url')
  @Developer()
  async downloadUrl(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('backup') backup: string) {
    const link = await this.backups.downloadLink(account(principal).id, addon, backup, this.config.http.publicUrl);
    return { url: link.url, expires_at: link.expiresAt };
  }

  @Get('restores')
  @Developer()
  async listRestores(
    @CurrentPrincipal() principal: Principal,
    @Param('addon') addon: string,
    @Headers('range') range: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return sendPage(res, await this.backups.listRestores(account(principal).id, addon, newestFirst(range)), RANGE, toRestoreResponse);
  }

  @Post('restores')
  @HttpCode(202)
  @Developer()
  async restore(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Body() body: RestoreRequestDto) {
    return toRestoreResponse(await this.backups.restore(account(principal).id, addon, body));
  }

  @Get('restores/:restore')
  @Developer()
  async getRestore(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('restore') restore: string) {
    return toRestoreResponse(await this.backups.getRestore(account(principal).id, addon, restore));
  }

  @Get('backup-schedule')
  @Developer()
  async getSchedule(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return toScheduleResponse(await this.backups.scheduleOf(account(principal).id, addon));
  }

  @Put('backup-schedule')
  @Developer()
  async setSchedule(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Body() body: BackupScheduleRequestDto) {
    return toScheduleResponse(await this.backups.schedule(account(principal).id, addon, body.hour));
  }

  @Delete('backup-schedule')
  @Developer()
  async clearSchedule(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return toScheduleResponse(await this.backups.schedule(account(principal).id, addon, null));
  }
}

/** Signed download links: the token is the authorization, so there is no API key to send. */
@ApiTags('postgresql')
@Controller('postgres-backups')
export class PostgresDownloadsController {
  constructor(private readonly backups: PostgresBackupsUseCase) {}

  @Get('download')
  async download(@Query('token') token: string | undefined, @Res({ passthrough: true }) res: Response) {
    const file = await this.backups.openDownload(token ?? '');
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(file.sizeBytes));
    res.setHeader('Content-Disposition', `attachment; filename="${file.fileName}"`);
    return new StreamableFile(file.stream);
  }
}
