import { Global, Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { SessionsModule, SignInThrottle } from '@app/domain';
import { BrowserSessionStrategy } from './browser-session.strategy';
import { RedisSignInThrottle } from './redis-sign-in.throttle';

/** Browser sign-in for Attache's own pages: the session cookie strategy and the Redis sign-in throttle. */
@Global()
@Module({
  imports: [PassportModule, SessionsModule],
  providers: [BrowserSessionStrategy, { provide: SignInThrottle, useClass: RedisSignInThrottle }],
  exports: [SignInThrottle, SessionsModule],
})
export class BrowserAuthModule {}
