import { Body, Controller, Get, Headers, Param, Patch, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { CurrentPrincipal, Principal } from '@app/auth';
import { ConfigVarsService, ReleasesService } from '@app/domain';
import { InvalidInputError } from '@app/common';
import { Developer } from '../http/auth.decorators';
import { rangeFrom, sendPage } from '../http/range';
import { toReleaseResponse } from '../mappers/app.mapper';
import { account } from './account.controller';

const RELEASE_RANGE = ['version', 'id'] as const;

@ApiTags('config-vars', 'releases')
@Controller('apps/:app')
@Developer()
export class ConfigVarsController {
  constructor(
    private readonly configVars: ConfigVarsService,
    private readonly releases: ReleasesService,
  ) {}

  @Get('config-vars')
  get(@CurrentPrincipal() principal: Principal, @Param('app') app: string) {
    return this.configVars.get(account(principal).id, app);
  }

  /** Body is the bare map `{NAME: "value" | null}`, so it is checked here rather than by a DTO. */
  @Patch('config-vars')
  patch(@CurrentPrincipal() principal: Principal, @Param('app') app: string, @Body() body: unknown) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new InvalidInputError('The body must be an object of config var names to string values (null unsets).');
    }
    return this.configVars.patch(account(principal).id, app, body as Record<string, string | null>);
  }

  @Get('releases')
  async listReleases(
    @CurrentPrincipal() principal: Principal,
    @Param('app') app: string,
    @Headers('range') range: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const spec = rangeFrom(range, RELEASE_RANGE);
    const { app: found, page } = await this.releases.list(account(principal).id, app, spec);
    const latest = await this.releases.list(account(principal).id, found.id, { ...spec, field: 'version', order: 'desc', max: 1, start: undefined, end: undefined });
    const current = latest.page.items[0]?.version ?? null;
    return sendPage(res, page, RELEASE_RANGE, (r) => toReleaseResponse(r, found, current));
  }

  @Get('releases/:release')
  async getRelease(@CurrentPrincipal() principal: Principal, @Param('app') app: string, @Param('release') release: string) {
    const { app: found, release: r } = await this.releases.get(account(principal).id, app, release);
    const latest = await this.releases.list(account(principal).id, found.id, rangeFrom('version ..; max=1, order=desc', RELEASE_RANGE));
    return toReleaseResponse(r, found, latest.page.items[0]?.version ?? null);
  }
}
