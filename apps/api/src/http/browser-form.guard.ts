import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { Request } from 'express';
import { BrowserPrincipal } from '@app/auth';
import { APP_CONFIG, AppConfig } from '@app/config';
import { BrowserSessions } from '@app/domain';
import { fromOwnOrigin } from './browser-origin';

/**
 * Every state-changing form of a signed-in browser: from Attache's own origin and carrying the
 * session's CSRF token (`_csrf`, compared in constant time). Runs after BrowserSessionGuard.
 */
@Injectable()
export class BrowserFormGuard implements CanActivate {
  constructor(
    private readonly sessions: BrowserSessions,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request & { user: BrowserPrincipal }>();
    const token = (request.body as Record<string, unknown> | undefined)?._csrf;
    if (!fromOwnOrigin(request, this.config.http.publicUrl) || !this.sessions.csrfTokenMatches(request.user.session, token)) {
      throw new ForbiddenException({ id: 'invalid_csrf_token', message: 'This form has expired or did not come from Attache. Reload the page and try again.' });
    }
    return true;
  }
}
