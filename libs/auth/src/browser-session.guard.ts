import { Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { SignInRequiredException } from './sign-in-required.exception';

/** Pages for signed-in browsers; `request.user` is then a BrowserPrincipal. */
@Injectable()
export class BrowserSessionGuard extends AuthGuard('browser-session') {
  override handleRequest<T>(error: unknown, principal: T): T {
    if (error) throw error;
    if (!principal) throw new SignInRequiredException();
    return principal;
  }
}
