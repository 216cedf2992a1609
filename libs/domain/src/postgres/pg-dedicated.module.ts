import { Global, Module } from '@nestjs/common';
import { PgDedicatedService } from './pg-dedicated.service';
import { PgDedicatedSources } from './pg-dedicated-sources';
import { AddonAccess } from '../addons/addon-access';
import { PgDedicatedCreateCheck } from './pg-dedicated-create-check';
import { PgDedicatedHosts } from './pg-dedicated-hosts';
import { PgPremiumFailovers } from './pg-premium-failovers';
import { AddonConfigProjector } from '../addons/addon-config.projector';

/**
 * Dedicated-plan PostgreSQL's services. Its ports (DedicatedClusterRepository, PgClusterDriver,
 * PgPremiumDriver, PgDedicatedOptions) come from the persistence and provisioner adapters.
 */
@Global()
@Module({
  providers: [PgDedicatedService, PgDedicatedSources, PgDedicatedCreateCheck, PgDedicatedHosts, PgPremiumFailovers, AddonAccess, AddonConfigProjector],
  exports: [PgDedicatedService, PgDedicatedSources, PgDedicatedCreateCheck, PgDedicatedHosts, PgPremiumFailovers],
})
export class PgDedicatedModule {}
