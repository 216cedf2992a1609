import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Request } from 'express';
import { BasicStrategy } from 'passport-http';
import { DomainError } from '@app/common';
import { ManifestService, SignInAttempt, SignInThrottle } from '@app/domain';
import { Principal } from './principal';

/**
 * HTTP Basic `<manifest id>:<manifest password>`, as vendors use to manage their service. Attempts
 * go through the sign-in throttle, per manifest id and per client address, as browser sign-ins do:
 * past the limit, even the right password waits (the vendor's account key still works).
 */
@Injectable()
export class VendorBasicStrategy extends PassportStrategy(BasicStrategy, 'vendor-basic') {
  constructor(
    private readonly manifests: ManifestService,
    private readonly throttle: SignInThrottle,
  ) {
    super({ passReqToCallback: true });
  }

  async validate(request: Request, slug: string, password: string): Promise<Principal | false> {
    const attempt: SignInAttempt = { email: `vendor-basic:${slug}`, ip: request.ip ?? 'unknown' };
    const wait = await this.throttle.begin(attempt);
    if (wait > 0) {
      throw new DomainError('rate_limited', 'rate_limit', `Too many failed logins as ${slug}. Try again in ${Math.ceil(wait / 60)} minute(s), or use the vendor's API key.`);
    }
    const service = await this.manifests.authenticateBasic(slug, password);
    if (!service) return false;
    await this.throttle.succeeded(attempt);
    return { kind: 'vendor', serviceId: service.id, slug: service.slug };
  }
}
