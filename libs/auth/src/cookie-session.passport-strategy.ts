import { Request } from 'express';
import passport from 'passport';

type Verify = (request: Request, done: (error: unknown, principal?: unknown) => void) => void;

/**
 * A passport strategy that hands the whole request to its verify callback (the session cookie is
 * read there): what `@nestjs/passport`'s PassportStrategy mixin needs to wrap `validate(request)`.
 */
export class CookieSessionPassportStrategy extends passport.Strategy {
  constructor(private readonly verify: Verify) {
    super();
  }

  override authenticate(request: Request): void {
    this.verify(request, (error, principal) => {
      if (error) return this.error(error);
      if (!principal) return this.fail(401);
      return this.success(principal);
    });
  }
}
