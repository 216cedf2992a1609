import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '@app/auth';
import { Developer } from '../http/auth.decorators';
import { toAccountResponse } from '../mappers/app.mapper';

@ApiTags('account')
@Controller()
@Developer()
export class AccountController {
  @Get('account')
  get(@CurrentPrincipal() principal: Principal) {
    return toAccountResponse(account(principal));
  }
}

/** The developer behind a request guarded by @Developer(). */
export function account(principal: Principal) {
  if (principal.kind !== 'account') throw new Error('expected a developer principal');
  return principal.account;
}
