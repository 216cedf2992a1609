import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { CurrentPrincipal, Principal } from '@app/auth';
import { CatalogService } from '@app/domain';
import { AnyoneOrDeveloper } from '../http/auth.decorators';
import { rangeFrom, sendPage } from '../http/range';
import { toPlanResponse, toRegionResponse, toServiceResponse } from '../mappers/catalog.mapper';

const RANGE = ['name', 'id'] as const;
const viewer = (principal?: Principal) => (principal?.kind === 'account' ? principal.account.id : null);

/** The catalog is readable without authentication, as Heroku's is; a vendor also sees its unpublished services. */
@ApiTags('catalog')
@Controller()
@AnyoneOrDeveloper()
export class CatalogController {
  constructor(private readonly catalog: CatalogService) {}

  @Get('addon-services')
  async services(@CurrentPrincipal() principal: Principal | undefined, @Headers('range') range: string | undefined, @Res({ passthrough: true }) res: Response) {
    const page = await this.catalog.listServices(viewer(principal), rangeFrom(range, RANGE));
    return sendPage(res, page, RANGE, toServiceResponse);
  }

  @Get('addon-services/:service')
  async service(@CurrentPrincipal() principal: Principal | undefined, @Param('service') service: string) {
    return toServiceResponse(await this.catalog.getService(viewer(principal), service));
  }

  @Get('addon-services/:service/plans')
  async plans(
    @CurrentPrincipal() principal: Principal | undefined,
    @Param('service') service: string,
    @Headers('range') range: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { service: found, page } = await this.catalog.listPlans(viewer(principal), service, rangeFrom(range, RANGE));
    return sendPage(res, page, RANGE, (plan) => toPlanResponse(plan, found));
  }

  @Get('addon-services/:service/plans/:plan')
  async plan(@CurrentPrincipal() principal: Principal | undefined, @Param('service') service: string, @Param('plan') plan: string) {
    const found = await this.catalog.getPlan(viewer(principal), service, plan);
    return toPlanResponse(found.plan, found.service);
  }

  @Get('plans/:plan')
  async planById(@CurrentPrincipal() principal: Principal | undefined, @Param('plan') plan: string) {
    const found = await this.catalog.getPlanById(viewer(principal), plan);
    return toPlanResponse(found.plan, found.service);
  }

  @Get('regions')
  async regions() {
    return (await this.catalog.listRegions()).map(toRegionResponse);
  }

  @Get('regions/:region')
  async region(@Param('region') region: string) {
    return toRegionResponse(await this.catalog.getRegion(region));
  }
}
