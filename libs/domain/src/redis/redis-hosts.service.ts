import { Injectable } from '@nestjs/common';
import { Clock, InvalidInputError, newId } from '@app/common';
import { Store } from '../shared/store.port';
import { RedisHost, RedisHostState } from './redis.models';

export interface RegisterRedisHostInput {
  name: string;
  address: string;
  portMin: number;
  portMax: number;
  dataDir: string;
  capacity: number;
  state?: RedisHostState;
}

/** The hosts Redis instances are placed on: registration and load. */
@Injectable()
export class RedisHosts {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async register(input: RegisterRedisHostInput): Promise<RedisHost> {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(input.name)) throw new InvalidInputError('A host name is lowercase letters, digits and dashes.');
    const ports = [input.portMin, input.portMax];
    if (ports.some((p) => !Number.isInteger(p) || p < 1024 || p > 65535) || input.portMin > input.portMax) {
      throw new InvalidInputError('The port range must lie within 1024–65535, lowest first.');
    }
    if (!Number.isInteger(input.capacity) || input.capacity < 0) throw new InvalidInputError('The capacity must be a whole number of instances.');
    if (!input.dataDir.startsWith('/')) throw new InvalidInputError('The data directory must be an absolute path.');
    const now = this.clock.now();
    const existing = await this.store.redis.hosts.findByName(input.name);
    for (const other of await this.store.redis.hosts.list()) {
      if (other.name === input.name || other.address !== input.address) continue;
      if (other.dataDir === input.dataDir) throw new InvalidInputError(`Host ${other.name} already keeps its instances in ${input.dataDir}.`);
      if (input.portMin <= other.portMax && other.portMin <= input.portMax) {
        throw new InvalidInputError(`Ports ${input.portMin}-${input.portMax} overlap those of host ${other.name} (${other.portMin}-${other.portMax}).`);
      }
    }
    return this.store.redis.hosts.upsertByName({
      id: existing?.id ?? newId(),
      name: input.name,
      driver: 'local',
      address: input.address,
      portMin: input.portMin,
      portMax: input.portMax,
      dataDir: input.dataDir,
      capacity: input.capacity,
      state: input.state ?? 'active',
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    });
  }

  /** Each host with its instances and its unclaimed spares (ready, and still starting), which count against its capacity. */
  async listWithLoad(): Promise<{ host: RedisHost; instances: number; spares: { ready: number; starting: number } }[]> {
    const [hosts, counts, spares] = await Promise.all([
      this.store.redis.hosts.list(),
      this.store.redis.hosts.countActiveInstances(),
      this.store.redis.spares.countUnclaimed(),
    ]);
    return hosts.map((host) => ({ host, instances: counts.get(host.id) ?? 0, spares: spares.get(host.id) ?? { ready: 0, starting: 0 } }));
  }
}
