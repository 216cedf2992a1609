import { Injectable } from '@nestjs/common';
import { Clock, InvalidInputError, SecretBox, newId } from '@app/common';
import { Store } from '../shared/store.port';
import { KafkaCluster, KafkaClusterState } from './kafka.models';

export interface RegisterKafkaClusterInput {
  name: string;
  bootstrapServers: string;
  adminUser: string;
  adminPassword: string;
  capacity: number;
  state?: KafkaClusterState;
}

const SERVER = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** The Kafka clusters tenants are placed on: registration and load. */
@Injectable()
export class KafkaClusters {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  async register(input: RegisterKafkaClusterInput): Promise<KafkaCluster> {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(input.name)) throw new InvalidInputError('A cluster name is lowercase letters, digits and dashes.');
    const servers = input.bootstrapServers.split(',').map((s) => s.trim());
    for (const server of servers) {
      const match = SERVER.exec(server);
      if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
        throw new InvalidInputError(`Bootstrap servers are host:port pairs separated by commas; '${server}' is not one.`);
      }
    }
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(input.adminUser)) throw new InvalidInputError('The admin user is 1–64 letters, digits, dots, dashes or underscores.');
    if (!input.adminPassword) throw new InvalidInputError('The admin password must not be empty.');
    if (!Number.isInteger(input.capacity) || input.capacity < 0) throw new InvalidInputError('The capacity must be a whole number of tenants.');
    const existing = await this.store.kafka.clusters.findByName(input.name);
    const now = this.clock.now();
    return this.store.kafka.clusters.upsertByName({
      id: existing?.id ?? newId(),
      name: input.name,
      bootstrapServers: servers.join(','),
      adminUser: input.adminUser,
      adminPasswordSealed: this.box.seal(input.adminPassword),
      capacity: input.capacity,
      state: input.state ?? 'active',
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    });
  }

  async listWithLoad(): Promise<{ cluster: KafkaCluster; tenants: number }[]> {
    const [clusters, counts] = await Promise.all([this.store.kafka.clusters.list(), this.store.kafka.clusters.countActiveTenants()]);
    return clusters.map((cluster) => ({ cluster, tenants: counts.get(cluster.id) ?? 0 }));
  }
}
