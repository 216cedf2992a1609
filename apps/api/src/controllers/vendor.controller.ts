import { Body, Controller, Get, Headers, Param, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { CurrentPrincipal, Principal } from '@app/auth';
import { INSTALL_RANGE_FIELDS, Manifest, ManifestService, VendorActor, VendorInstalls } from '@app/domain';
import { PushManifestRequestDto } from '../dto/manifest.dto';
import { Vendor } from '../http/auth.decorators';
import { rangeFrom, sendPage } from '../http/range';
import { toServiceResponse } from '../mappers/catalog.mapper';
import { toVendorInstallResponse } from '../mappers/vendor-install.mapper';

const actorOf = (principal: Principal): VendorActor =>
  principal.kind === 'account' ? { kind: 'account', accountId: principal.account.id } : { kind: 'service', serviceId: (principal as { serviceId: string }).serviceId };

/** Vendor tooling, on the paths Heroku's add-on admin tooling uses (reference §1.3). */
@ApiTags('vendors')
@Controller('api/v3/addons/:slug')
@Vendor()
export class VendorController {
  constructor(
    private readonly manifests: ManifestService,
    private readonly installs: VendorInstalls,
  ) {}

  @Post('manifests')
  async push(@CurrentPrincipal() principal: Principal, @Param('slug') slug: string, @Body() body: PushManifestRequestDto, @Res({ passthrough: true }) res: Response) {
    const result = await this.manifests.push(actorOf(principal), slug, body.contents);
    res.status(201);
    return {
      ...this.manifestResponse(result.manifest, result.contents),
      addon_service: toServiceResponse(result.service),
      ...(result.clientSecret ? { client_secret: result.clientSecret } : {}),
    };
  }

  @Get('current_manifest')
  async current(@CurrentPrincipal() principal: Principal, @Param('slug') slug: string) {
    const result = await this.manifests.current(actorOf(principal), slug);
    return this.manifestResponse(result.manifest, result.contents);
  }

  @Get('manifests')
  async list(@CurrentPrincipal() principal: Principal, @Param('slug') slug: string, @Headers('range') range: string | undefined, @Res({ passthrough: true }) res: Response) {
    const { page } = await this.manifests.list(actorOf(principal), slug, rangeFrom(range, ['created_at', 'id']));
    return sendPage(res, page, ['created_at', 'id'], (m) => ({ id: m.id, created_at: m.createdAt.toISOString() }));
  }

  @Get('manifests/:id')
  async get(@CurrentPrincipal() principal: Principal, @Param('slug') slug: string, @Param('id') id: string) {
    const result = await this.manifests.get(actorOf(principal), slug, id);
    return this.manifestResponse(result.manifest, result.contents);
  }

  @Post('client-secret')
  async regenerate(@CurrentPrincipal() principal: Principal, @Param('slug') slug: string, @Res({ passthrough: true }) res: Response) {
    const result = await this.manifests.regenerateClientSecret(actorOf(principal), slug);
    res.status(201);
    return { addon_service: toServiceResponse(result.service), client_secret: result.clientSecret };
  }

  /** Where the service's add-ons are installed: one entry per attachment to a live app (reference §3.6). */
  @Get('apps')
  async apps(@CurrentPrincipal() principal: Principal, @Param('slug') slug: string, @Headers('range') range: string | undefined, @Res({ passthrough: true }) res: Response) {
    const { service, page } = await this.installs.list(actorOf(principal), slug, rangeFrom(range, INSTALL_RANGE_FIELDS));
    return sendPage(res, page, INSTALL_RANGE_FIELDS, (install) => toVendorInstallResponse(install, service));
  }

  private manifestResponse(manifest: Manifest, contents: unknown) {
    return { id: manifest.id, contents, created_at: manifest.createdAt.toISOString() };
  }
}
