import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '@app/auth';
import { SsoForms } from '@app/domain';
import { Developer } from '../http/auth.decorators';
import { account } from './account.controller';

/** The signed form that opens an add-on's vendor dashboard (Platform API "Add-on Action" SSO). */
@ApiTags('addons')
@Controller()
@Developer()
export class SsoController {
  constructor(private readonly sso: SsoForms) {}

  @Get('addons/:addon/sso')
  async forAddon(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return this.sso.formFor(account(principal).id, addon);
  }

  @Get('apps/:app/addons/:addon/sso')
  async forAttachment(@CurrentPrincipal() principal: Principal, @Param('app') app: string, @Param('addon') addon: string) {
    return this.sso.formFor(account(principal).id, addon, app);
  }
}
