import { EntityManager } from 'typeorm';
import { KafkaClusterRepository, KafkaSampleRepository, KafkaStore, KafkaTenantRepository } from '@app/domain';
import { TypeOrmKafkaClusters } from './kafka-cluster.typeorm-repository';
import { TypeOrmKafkaSamples } from './kafka-sample.typeorm-repository';
import { TypeOrmKafkaTenants } from './kafka-tenant.typeorm-repository';

/** The first-party Kafka repositories, bound to one manager (so to one transaction, inside one). */
export class TypeOrmKafka implements KafkaStore {
  readonly clusters: KafkaClusterRepository;
  readonly tenants: KafkaTenantRepository;
  readonly samples: KafkaSampleRepository;

  constructor(manager: EntityManager) {
    this.clusters = new TypeOrmKafkaClusters(manager);
    this.tenants = new TypeOrmKafkaTenants(manager);
    this.samples = new TypeOrmKafkaSamples(manager);
  }
}
