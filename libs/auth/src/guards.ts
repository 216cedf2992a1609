import { ExecutionContext, ForbiddenException, Injectable, UnauthorizedException, createParamDecorator } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { Principal } from './principal';

type Kind = Principal['kind'];

const INVALID = 'Invalid credentials provided.';

/** Passes when the request authenticates as one of `kinds`; 401 otherwise, 403 for the wrong kind. */
function principalGuard(strategies: string[], kinds: Kind[], optional = false) {
  @Injectable()
  class Guard extends AuthGuard(strategies) {
    override async canActivate(context: ExecutionContext): Promise<boolean> {
      const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
      if (optional && !request.headers.authorization) return true;
      return (await super.canActivate(context)) as boolean;
    }

    override handleRequest<T>(error: unknown, principal: T): T {
      if (error) throw error;
      // Optional guards let requests without Authorization through in canActivate; a key that
      // is present must still be valid.
      if (!principal) throw new UnauthorizedException(INVALID);
      if (!kinds.includes((principal as unknown as Principal).kind)) {
        throw new ForbiddenException('These credentials cannot be used for this request.');
      }
      return principal;
    }
  }
  return Guard;
}

/** Developers with an API key. */
export const DeveloperGuard = principalGuard(['bearer'], ['account']);
/** Anonymous callers allowed (catalog reads); a given key must still be valid. */
export const OptionalDeveloperGuard = principalGuard(['bearer'], ['account'], true);
/** Add-on resources read and changed by developers and by the add-on's own vendor token. */
export const DeveloperOrPartnerGuard = principalGuard(['bearer'], ['account', 'partner']);
/** Partner-only actions (config updates, lifecycle actions). */
export const PartnerGuard = principalGuard(['bearer'], ['partner']);
/** Manifest management: the vendor's account key or the manifest's Basic credentials. */
export const VendorGuard = principalGuard(['bearer', 'vendor-basic'], ['account', 'vendor']);

export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal | undefined => {
  return context.switchToHttp().getRequest<{ user?: Principal }>().user;
});
