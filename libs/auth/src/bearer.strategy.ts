import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-http-bearer';
import { AccountsService, PartnerService } from '@app/domain';
import { Principal } from './principal';

/** `Authorization: Bearer <token>`: a developer API key or a partner access token, told apart by prefix. */
@Injectable()
export class BearerStrategy extends PassportStrategy(Strategy, 'bearer') {
  constructor(
    private readonly accounts: AccountsService,
    private readonly partners: PartnerService,
  ) {
    super();
  }

  async validate(token: string): Promise<Principal | false> {
    const account = await this.accounts.authenticate(token);
    if (account) return { kind: 'account', account };
    const addonId = await this.partners.authenticate(token);
    if (addonId) return { kind: 'partner', addonId };
    return false;
  }
}
