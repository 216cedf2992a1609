import { Global, Module } from '@nestjs/common';
import { JobDispatcher, RedisSpareRefills } from '@app/domain';
import { BullMqJobDispatcher } from './bullmq-job-dispatcher';
import { BullMqRedisSpareRefills } from './bullmq-redis-spare-refills';

@Global()
@Module({
  providers: [BullMqJobDispatcher, { provide: JobDispatcher, useExisting: BullMqJobDispatcher }, BullMqRedisSpareRefills, { provide: RedisSpareRefills, useExisting: BullMqRedisSpareRefills }],
  exports: [JobDispatcher, BullMqJobDispatcher, RedisSpareRefills],
})
export class QueuesModule {}
