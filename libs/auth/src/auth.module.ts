import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { DomainModule } from '@app/domain';
import { BearerStrategy } from './bearer.strategy';
import { VendorBasicStrategy } from './vendor-basic.strategy';

@Module({
  imports: [PassportModule, DomainModule],
  providers: [BearerStrategy, VendorBasicStrategy],
})
export class AuthModule {}
