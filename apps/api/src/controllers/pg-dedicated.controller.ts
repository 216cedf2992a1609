import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '@app/auth';
import { PgDedicatedService } from '@app/domain';
import { Developer } from '../http/auth.decorators';
import { toDedicatedInfoResponse } from '../mappers/pg-dedicated.mapper';
import { account } from './account.controller';

/** Dedicated-plan PostgreSQL: the cluster's info, and ending a follower's replication. */
@ApiTags('postgresql')
@Controller('addons/:addon/postgres')
export class PgDedicatedController {
  constructor(private readonly dedicated: PgDedicatedService) {}

  @Get('cluster')
  @Developer()
  async show(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return toDedicatedInfoResponse(await this.dedicated.info(account(principal).id, addon));
  }

  @Post('unfollow')
  @HttpCode(200)
  @Developer()
  async unfollow(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return toDedicatedInfoResponse(await this.dedicated.unfollow(account(principal).id, addon));
  }
}
