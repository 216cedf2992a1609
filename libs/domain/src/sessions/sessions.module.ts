import { Module } from '@nestjs/common';
import { DomainModule } from '../domain.module';
import { AddonLanding } from '../sso/addon-landing.service';
import { BrowserSessions } from './browser-sessions.service';
import { PasswordsModule } from './passwords.module';

/**
 * What Attache's own browser pages need: sign-in and sessions, and the add-on landing page. Its
 * ports come from global adapter modules: BrowserSessionRepository from libs/persistence,
 * SignInThrottle from libs/auth.
 */
@Module({ imports: [DomainModule, PasswordsModule], providers: [BrowserSessions, AddonLanding], exports: [BrowserSessions, AddonLanding, PasswordsModule] })
export class SessionsModule {}
