import { randomInt } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { SecretBox } from '@app/common';
import { Addon, AddonService } from '../shared/models';
import { Store } from '../shared/store.port';
import { AddonConfigProjector } from '../addons/addon-config.projector';
import { KafkaClusterConnection } from './kafka-cluster.port';
import { KafkaCluster, KafkaTenant } from './kafka.models';

export const KAFKA_SASL_MECHANISM = 'SCRAM-SHA-512';

const PREFIX_WORDS = [
  'alder', 'aspen', 'birch', 'cedar', 'cherry', 'cypress', 'elm', 'fir', 'hazel', 'hemlock', 'holly', 'juniper',
  'larch', 'laurel', 'linden', 'maple', 'oak', 'olive', 'pine', 'poplar', 'rowan', 'sequoia', 'spruce', 'willow',
];

/** A fresh tenant name, e.g. `oak-42317`: the username, and with a `.` the prefix. */
export function newKafkaTenantName(): string {
  return `${PREFIX_WORDS[randomInt(PREFIX_WORDS.length)]}-${randomInt(10_000, 100_000)}`;
}

/** `kafka://host:port,kafka://host:port`: Heroku's form of the bootstrap servers (`kafka+ssl://` when TLS). */
export function kafkaUrl(bootstrapServers: string): string {
  return bootstrapServers
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((server) => `kafka://${server}`)
    .join(',');
}

/** What apps receive (unprefixed names; the alias adds `KAFKA_` or `KAFKA_<COLOR>_`). */
export function kafkaConfig(tenant: KafkaTenant, cluster: KafkaCluster, box: SecretBox, password: string = box.open(tenant.passwordSealed)): Record<string, string> {
  return {
    KAFKA_URL: kafkaUrl(cluster.bootstrapServers),
    KAFKA_PREFIX: tenant.prefix,
    KAFKA_USERNAME: tenant.username,
    KAFKA_PASSWORD: password,
    KAFKA_SASL_MECHANISM: KAFKA_SASL_MECHANISM,
  };
}

/** The cluster as the admin adapter reaches it, the super user's password opened. */
export function kafkaConnection(cluster: KafkaCluster, box: SecretBox): KafkaClusterConnection {
  return {
    id: cluster.id,
    name: cluster.name,
    bootstrapServers: cluster.bootstrapServers,
    adminUser: cluster.adminUser,
    adminPassword: box.open(cluster.adminPasswordSealed),
  };
}

/** Publishes a tenant's config to the apps its add-on is attached to. */
@Injectable()
export class KafkaConfigPublisher {
  constructor(
    private readonly box: SecretBox,
    private readonly projector: AddonConfigProjector,
  ) {}

  /** The add-on's config from the tenant as recorded, onto every attached app: one release each app whose vars changed. */
  async publish(tx: Store, addon: Addon, service: AddonService, tenant: KafkaTenant, cluster: KafkaCluster, description: string, now: Date): Promise<void> {
    const config = kafkaConfig(tenant, cluster, this.box);
    const patch = { configSealed: this.projector.sealConfig(config), updatedAt: now };
    await tx.addons.update(addon.id, patch);
    await this.projector.projectAll(tx, { ...addon, ...patch }, service, config, description, now);
  }
}
