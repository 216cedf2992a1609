import { Global, Module } from '@nestjs/common';
import { JobDispatcher } from '@app/domain';
import { BullMqJobDispatcher } from './bullmq-job-dispatcher';

@Global()
@Module({
  providers: [BullMqJobDispatcher, { provide: JobDispatcher, useExisting: BullMqJobDispatcher }],
  exports: [JobDispatcher, BullMqJobDispatcher],
})
export class QueuesModule {}
