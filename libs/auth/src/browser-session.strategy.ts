import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { parse } from 'cookie';
import { Request } from 'express';
import { APP_CONFIG, AppConfig } from '@app/config';
import { BrowserSessions } from '@app/domain';
import { BrowserPrincipal } from './browser-principal';
import { CookieSessionPassportStrategy } from './cookie-session.passport-strategy';
import { sessionCookieNames } from './session-cookie';

/** The browser session cookie of Attache's own pages; unknown, forged, expired and idle sessions fail. */
@Injectable()
export class BrowserSessionStrategy extends PassportStrategy(CookieSessionPassportStrategy, 'browser-session') {
  private readonly cookieName: string;

  constructor(
    private readonly sessions: BrowserSessions,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super();
    this.cookieName = sessionCookieNames(config.http.publicUrl).session;
  }

  async validate(request: Request): Promise<BrowserPrincipal | false> {
    const sessionId = parse(request.headers.cookie ?? '')[this.cookieName];
    const session = await this.sessions.current(sessionId);
    return session && sessionId ? { kind: 'account', account: session.account, session, sessionId } : false;
  }
}
