import { Global, Module } from '@nestjs/common';
import { PgDedicatedService } from './pg-dedicated.service';
import { PgDedicatedSources } from './pg-dedicated-sources';
import { AddonAccess } from '../addons/addon-access';
import { PgDedicatedCreateCheck } from './pg-dedicated-create-check';

/**
 * Dedicated-plan PostgreSQL's services. Its ports (DedicatedClusterRepository, PgClusterDriver,
 * PgDedicatedOptions) come from the persistence and provisioner adapters.
 */
@Global()
@Module({ providers: [PgDedicatedService, PgDedicatedSources, PgDedicatedCreateCheck, AddonAccess], exports: [PgDedicatedService, PgDedicatedSources, PgDedicatedCreateCheck] })
export class PgDedicatedModule {}
