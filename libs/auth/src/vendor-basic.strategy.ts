import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { BasicStrategy } from 'passport-http';
import { ManifestService } from '@app/domain';
import { Principal } from './principal';

/** HTTP Basic `<manifest id>:<manifest password>`, as vendors use to manage their service. */
@Injectable()
export class VendorBasicStrategy extends PassportStrategy(BasicStrategy, 'vendor-basic') {
  constructor(private readonly manifests: ManifestService) {
    super();
  }

  async validate(slug: string, password: string): Promise<Principal | false> {
    const service = await this.manifests.authenticateBasic(slug, password);
    return service ? { kind: 'vendor', serviceId: service.id, slug: service.slug } : false;
  }
}
