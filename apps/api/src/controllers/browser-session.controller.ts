import { randomBytes } from 'node:crypto';
import { Controller, ForbiddenException, Get, Inject, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { parse, serialize } from 'cookie';
import { Request, Response } from 'express';
import { BrowserPrincipal, BrowserSessionGuard, CurrentPrincipal, SessionCookieNames, sessionCookieNames } from '@app/auth';
import { DomainError, constantTimeEqual, parseRange } from '@app/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AccountPasswords, AddonQueries, BrowserSessions } from '@app/domain';
import { BrowserErrorFilter } from '../http/browser-error.filter';
import { BrowserFormGuard } from '../http/browser-form.guard';
import { fromOwnOrigin, safeNext } from '../http/browser-origin';
import { newNonce, sendHtml } from '../http/html-response';
import { homeView } from '../views/home.view';
import { signInView } from '../views/sign-in.view';

/** The sign-in form's token lives this long in its cookie (double submit: cookie and hidden field must match). */
const SIGN_IN_FORM_TTL_S = 3600;

const field = (body: unknown, name: string): string => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

/** Signing in to Attache's own pages with a browser (docs/sso.md): /login, /logout and the signed-in home page. */
@ApiExcludeController()
@Controller()
@UseFilters(BrowserErrorFilter)
export class BrowserSessionController {
  private readonly cookies: SessionCookieNames;

  constructor(
    private readonly sessions: BrowserSessions,
    private readonly passwords: AccountPasswords,
    private readonly queries: AddonQueries,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.cookies = sessionCookieNames(config.http.publicUrl);
  }

  @Get('login')
  signInForm(@Req() req: Request, @Res() res: Response, @Query('next') next: unknown): void {
    // No session yet to tie a CSRF token to: the form's token is also set as a cookie, and the POST must carry both.
    let token = parse(req.headers.cookie ?? '')[this.cookies.signIn];
    if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) {
      token = randomBytes(32).toString('base64url');
      res.append('Set-Cookie', serialize(this.cookies.signIn, token, { ...this.cookieOptions(), maxAge: SIGN_IN_FORM_TTL_S }));
    }
    const nonce = newNonce();
    sendHtml(res, 200, signInView({ csrfToken: token, next: safeNext(next), nonce }), nonce);
  }

  @Post('login')
  async signIn(@Req() req: Request, @Res() res: Response): Promise<void> {
    const next = safeNext(field(req.body, 'next'));
    const formToken = parse(req.headers.cookie ?? '')[this.cookies.signIn];
    if (!fromOwnOrigin(req, this.config.http.publicUrl) || !formToken || !constantTimeEqual(field(req.body, '_csrf'), formToken)) {
      throw new ForbiddenException({ id: 'invalid_csrf_token', message: 'This sign-in form has expired or did not come from Attache. Open /login again.' });
    }
    const apiKey = field(req.body, 'api_key');
    const email = field(req.body, 'email');
    try {
      const signedIn = apiKey
        ? await this.sessions.signInWithApiKey(apiKey, req.ip ?? '')
        : await this.sessions.signInWithPassword(email, field(req.body, 'password'), req.ip ?? '');
      // The session this browser carried before, if any, ends: one browser, one session.
      await this.sessions.signOut(parse(req.headers.cookie ?? '')[this.cookies.session]);
      res.append('Set-Cookie', serialize(this.cookies.session, signedIn.sessionId, { ...this.cookieOptions(), expires: signedIn.expiresAt }));
      res.append('Set-Cookie', serialize(this.cookies.signIn, '', { ...this.cookieOptions(), maxAge: 0 }));
      res.redirect(303, next ?? '/');
    } catch (error) {
      // A failed sign-in shows the form again with the one generic message (or the throttle's).
      if (!(error instanceof DomainError) || (error.kind !== 'unauthorized' && error.kind !== 'rate_limited')) throw error;
      const nonce = newNonce();
      sendHtml(res, error.kind === 'rate_limited' ? 429 : 401, signInView({ csrfToken: formToken, next, email, error: error.message, nonce }), nonce);
    }
  }

  @Post('logout')
  @UseGuards(BrowserSessionGuard, BrowserFormGuard)
  async signOut(@CurrentPrincipal() principal: BrowserPrincipal, @Res() res: Response): Promise<void> {
    await this.sessions.signOut(principal.sessionId);
    res.append('Set-Cookie', serialize(this.cookies.session, '', { ...this.cookieOptions(), maxAge: 0 }));
    res.redirect(303, '/login');
  }

  @Get()
  @UseGuards(BrowserSessionGuard)
  async home(@CurrentPrincipal() principal: BrowserPrincipal, @Query('changed') changed: unknown, @Res() res: Response): Promise<void> {
    const { account, session } = principal;
    const page = await this.queries.listAttachmentsVisible(account.id, parseRange(undefined, ['name', 'id'], 'name'));
    const nonce = newNonce();
    const model = {
      email: account.email,
      attachments: page.items,
      more: Boolean(page.nextRange),
      hasPassword: await this.passwords.hasPassword(account.id),
      notice: changed === 'password' ? 'Your password was saved, and your other browsers were signed out.' : null,
    };
    sendHtml(res, 200, homeView(model, { nonce, signedIn: { email: account.email, csrfToken: session.csrfToken } }), nonce);
  }

  @Post('account/password')
  @UseGuards(BrowserSessionGuard, BrowserFormGuard)
  async changePassword(@CurrentPrincipal() principal: BrowserPrincipal, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.sessions.changePassword(principal.session, field(req.body, 'current_password'), field(req.body, 'password'), req.ip ?? '');
    res.redirect(303, '/?changed=password');
  }

  private cookieOptions() {
    return { httpOnly: true, sameSite: 'lax' as const, path: '/', secure: this.cookies.secure };
  }
}
