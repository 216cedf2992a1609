import { Global, Module } from '@nestjs/common';
import { KafkaClusterAdmin } from '@app/domain';
import { PlatformaticKafkaAdmin } from './platformatic-kafka-admin';

/** The Kafka admin port, for every app that runs Kafka operations. */
@Global()
@Module({
  providers: [PlatformaticKafkaAdmin, { provide: KafkaClusterAdmin, useExisting: PlatformaticKafkaAdmin }],
  exports: [KafkaClusterAdmin],
})
export class KafkaAdapterModule {}
