import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '@app/auth';
import { UsageReports } from '@app/domain';
import { Developer } from '../http/auth.decorators';
import { toUsageResponse } from '../mappers/usage.mapper';
import { account } from './account.controller';

/** Live usage and estimated cost of the current month (DESIGN §6). */
@ApiTags('billing')
@Controller()
@Developer()
export class UsageController {
  constructor(private readonly usage: UsageReports) {}

  @Get('apps/:app/usage')
  async app(@CurrentPrincipal() principal: Principal, @Param('app') app: string) {
    return toUsageResponse(await this.usage.forApp(account(principal).id, app));
  }

  @Get('teams/:team/usage')
  async team(@CurrentPrincipal() principal: Principal, @Param('team') team: string) {
    return toUsageResponse(await this.usage.forTeam(account(principal).id, team));
  }

  @Get('account/usage')
  async account(@CurrentPrincipal() principal: Principal) {
    return toUsageResponse(await this.usage.forAccount(account(principal).id));
  }
}
