import { Injectable } from '@nestjs/common';
import { SecretBox } from '@app/common';
import { Addon, AddonService } from '../shared/models';
import { Store } from '../shared/store.port';
import { AddonConfigProjector } from '../addons/addon-config.projector';
import { RedisHost, RedisInstance, RedisInstanceSpec } from './redis.models';

export const REDIS_URL_VAR = 'REDIS_URL';
export const REDIS_APP_USER = 'app';

/** The key of an instance started fresh for an add-on: its directory and its sentinel's master name. */
export const redisInstanceKey = (addonId: string): string => `r_${addonId.replace(/-/g, '').toLowerCase()}`;

/** A spare's key (kept by the instance that claims it); distinct from every add-on's, as ids are. */
export const redisSpareKey = (spareId: string): string => `s_${spareId.replace(/-/g, '').toLowerCase()}`;

/** `redis://app:password@host:port`, as apps receive it. */
export function redisUrl(address: string, port: number, password: string): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `redis://${REDIS_APP_USER}:${encodeURIComponent(password)}@${host}:${port}`;
}

/** What a driver needs to run the instance, its secrets opened. */
export function redisSpec(instance: RedisInstance, host: RedisHost, box: SecretBox, password: string = box.open(instance.passwordSealed)): RedisInstanceSpec {
  return {
    key: instance.key,
    host: { id: host.id, name: host.name, address: host.address, dataDir: host.dataDir },
    nodePorts: instance.nodePorts,
    primaryIndex: instance.primaryIndex,
    sentinelPort: instance.sentinelPort,
    password,
    internalPassword: box.open(instance.internalPasswordSealed),
    maxmemoryBytes: instance.maxmemoryBytes,
    maxclients: instance.maxclients,
    persistence: instance.persistence,
    maxmemoryPolicy: instance.maxmemoryPolicy,
    timeoutSeconds: instance.timeoutSeconds,
  };
}

/** The add-on's config: the URL of the current primary. */
export function redisConfig(instance: RedisInstance, host: RedisHost, box: SecretBox): Record<string, string> {
  return { [REDIS_URL_VAR]: redisUrl(host.address, instance.nodePorts[instance.primaryIndex], box.open(instance.passwordSealed)) };
}

/** Publishes an instance's URL to the apps it is attached to. */
@Injectable()
export class RedisConfigPublisher {
  constructor(
    private readonly box: SecretBox,
    private readonly projector: AddonConfigProjector,
  ) {}

  /** The add-on's config from the instance as recorded, onto every attached app: one release each app whose URL changed. */
  async publish(tx: Store, addon: Addon, service: AddonService, instance: RedisInstance, host: RedisHost, description: string, now: Date): Promise<void> {
    const config = redisConfig(instance, host, this.box);
    const patch = { configSealed: this.projector.sealConfig(config), updatedAt: now };
    await tx.addons.update(addon.id, patch);
    await this.projector.projectAll(tx, { ...addon, ...patch }, service, config, description, now);
  }
}
