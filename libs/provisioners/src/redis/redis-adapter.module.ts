import { Global, Module } from '@nestjs/common';
import { RedisDriver } from '@app/domain';
import { LocalRedisDriver } from './local-redis.driver';

/** The Redis driver port, for every app that runs Redis operations. Only the local driver exists so far. */
@Global()
@Module({
  providers: [LocalRedisDriver, { provide: RedisDriver, useExisting: LocalRedisDriver }],
  exports: [RedisDriver],
})
export class RedisAdapterModule {}
