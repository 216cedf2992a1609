import { UnauthorizedException } from '@nestjs/common';

/** No valid browser session: pages answer it with a redirect to /login (apps/api's browser error filter). */
export class SignInRequiredException extends UnauthorizedException {
  constructor() {
    super({ id: 'unauthorized', message: 'Sign in to continue.' });
  }
}
