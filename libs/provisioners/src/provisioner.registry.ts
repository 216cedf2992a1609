import { Injectable } from '@nestjs/common';
import { AddonService, OWNER_CREDENTIAL, ProvisionHeadStart, ProvisionPrefetch, ProvisionPreparation, Provisioner, ProvisionerRegistry, Store } from '@app/domain';
import { HttpVendorProvisioner } from './http-vendor/http-vendor.provisioner';
import { PostgresPlanRouter } from './postgres/postgres-plan-router.provisioner';
import { RedisProvisioner } from './redis/redis.provisioner';
import { KafkaProvisioner } from './kafka/kafka.provisioner';

/** Maps a service's provider kind to its implementation. First-party kinds register here as they arrive. */
@Injectable()
export class DefaultProvisionerRegistry extends ProvisionerRegistry {
  constructor(
    private readonly http: HttpVendorProvisioner,
    private readonly postgres: PostgresPlanRouter,
    private readonly redis: RedisProvisioner,
    private readonly kafka: KafkaProvisioner,
  ) {
    super();
  }

  forService(service: AddonService): Provisioner {
    switch (service.provider) {
      case 'http':
        return this.http;
      case 'postgres':
        return this.postgres;
      case 'redis':
        return this.redis;
      case 'kafka':
        return this.kafka;
      default:
        throw new Error(`No provisioner is installed for ${service.provider} services.`);
    }
  }

  override async prefetch(tx: Store, addonId: string): Promise<ProvisionPrefetch> {
    // An essential database is placed with its add-on: the provision needs only these records.
    return { postgresPlacement: await tx.postgres.databases.findPlacement(addonId, OWNER_CREDENTIAL) };
  }

  override prepare(headStart: ProvisionHeadStart): ProvisionPreparation | undefined {
    return this.postgres.prepare(headStart);
  }
}
