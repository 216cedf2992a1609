import { EntityManager } from 'typeorm';
import { RedisHostRepository, RedisInstanceRepository, RedisPortRepository, RedisSpareRepository, RedisStore } from '@app/domain';
import { TypeOrmRedisHosts } from './redis-host.typeorm-repository';
import { TypeOrmRedisInstances } from './redis-instance.typeorm-repository';
import { TypeOrmRedisPorts } from './redis-port.typeorm-repository';
import { TypeOrmRedisSpares } from './redis-spare.typeorm-repository';

/** The first-party Redis repositories, bound to one manager (so to one transaction, inside one). */
export class TypeOrmRedis implements RedisStore {
  readonly hosts: RedisHostRepository;
  readonly instances: RedisInstanceRepository;
  readonly ports: RedisPortRepository;
  readonly spares: RedisSpareRepository;

  constructor(manager: EntityManager) {
    this.hosts = new TypeOrmRedisHosts(manager);
    this.instances = new TypeOrmRedisInstances(manager);
    this.ports = new TypeOrmRedisPorts(manager);
    this.spares = new TypeOrmRedisSpares(manager);
  }
}
