import { Injectable, Logger, Optional } from '@nestjs/common';
import { Clock, SecretBox, randomToken } from '@app/common';
import {
  Addon,
  AddonService,
  DeprovisionOutcome,
  Plan,
  PlanChangeOutcome,
  ProviderRefusedError,
  ProviderUnavailableError,
  ProvisionOutcome,
  ProvisionRequest,
  Provisioner,
  RedisDriver,
  RedisHost,
  RedisInstance,
  RedisSpareOptions,
  RedisSpareRefills,
  Store,
  freeRedisPorts,
  isRedisPlan,
  redisConfig,
  redisInstanceKey,
  redisPlanShape,
  redisSpec,
} from '@app/domain';

/** Nodes and sentinel ports an instance of this shape needs. */
const portsNeeded = (highAvailability: boolean) => (highAvailability ? 3 : 1);

/** Where a provision's instance came from. */
interface Placement {
  instance: RedisInstance;
  host: RedisHost;
  /** It runs on a spare this add-on claimed, whose setup may not be done yet. */
  onSpare: boolean;
}

/**
 * Redis: its own redis-server per add-on (with a standby and a sentinel on premium plans) on
 * the least loaded registered host. The instance, its ports and passwords are recorded before
 * any process starts, so a retry starts the same instance and deprovision knows what to stop.
 * A mini takes a spare node of the host when one is ready (`RedisSpares`): the claim is recorded
 * with the instance, then the node gets the tenant's user and the plan's limits.
 */
@Injectable()
export class RedisProvisioner extends Provisioner {
  private readonly logger = new Logger(RedisProvisioner.name);

  constructor(
    private readonly store: Store,
    private readonly driver: RedisDriver,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly spareOptions: RedisSpareOptions,
    // Only the worker queues refills; elsewhere supervision refills alone.
    @Optional() private readonly refills?: RedisSpareRefills,
  ) {
    super();
  }

  async provision(request: ProvisionRequest): Promise<ProvisionOutcome> {
    const { addon, plan } = request;
    if (!isRedisPlan(plan.name)) throw new ProviderRefusedError(`redis:${plan.name} is not available.`);
    const placement = await this.place(addon, plan);
    const instance = placement.onSpare ? await this.setUpSpare(placement) : placement.instance;
    if (!placement.onSpare) await this.driver.ensure(redisSpec(instance, placement.host, this.box));
    return { kind: 'provisioned', providerId: null, config: redisConfig(instance, placement.host, this.box), message: null };
  }

  /**
   * The claimed spare becomes the add-on's node (idempotent, so a retry after a crash simply runs
   * it again). A spare that cannot be set up is destroyed and the instance starts fresh under a key
   * of its own, on the port it holds already. Either way the pool is refilled by a job.
   */
  private async setUpSpare({ instance, host }: Placement): Promise<RedisInstance> {
    this.refills?.request();
    try {
      await this.driver.claimSpare(redisSpec(instance, host, this.box));
      return instance;
    } catch (error) {
      this.logger.warn({ addonId: instance.addonId, err: (error as Error).message }, 'claimed Redis spare could not be set up; starting a fresh node');
    }
    // Destroyed before the record moves on: a crash in between leaves the claim, and the retry comes back here.
    await this.driver.destroy({ key: instance.key, host: redisSpec(instance, host, this.box).host, nodePorts: instance.nodePorts, sentinelPort: null });
    const fresh = await this.store.transaction(async (tx) => {
      // A deprovision meanwhile destroyed the spare (its setup failed for that): nothing may start under a new key.
      const current = await tx.redis.instances.findByAddonForUpdate(instance.addonId);
      if (!current || current.state !== 'active') throw new ProviderRefusedError(`The Redis instance of add-on ${instance.addonId} was already destroyed.`);
      const patch = { key: redisInstanceKey(instance.addonId), updatedAt: this.clock.now() };
      await tx.redis.instances.update(instance.addonId, patch);
      const spare = await tx.redis.spares.findClaimedBy(instance.addonId);
      if (spare) await tx.redis.spares.remove(spare.id);
      return { ...instance, ...patch };
    });
    await this.driver.ensure(redisSpec(fresh, host, this.box));
    return fresh;
  }

  async changePlan(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome> {
    const { addon, plan } = request;
    if (!isRedisPlan(plan.name)) throw new ProviderRefusedError(`redis:${plan.name} is not available.`);
    const shape = redisPlanShape(plan);
    const { instance, host, previous } = await this.store.transaction(async (tx) => {
      const current = await tx.redis.instances.findByAddonForUpdate(addon.id);
      if (!current || current.state !== 'active') throw new ProviderUnavailableError(`${addon.name} has no instance yet.`);
      const host = (await tx.redis.hosts.findById(current.hostId))!;
      // The sentinel may have promoted the standby since supervision last looked: keep the node that has the data.
      const promoted = current.sentinelPort !== null ? await this.driver.currentPrimary(redisSpec(current, host, this.box)) : null;
      const primaryPort = current.nodePorts[promoted ?? current.primaryIndex];
      let nodePorts = current.nodePorts;
      let sentinelPort = current.sentinelPort;
      if (shape.highAvailability && current.nodePorts.length === 1) {
        // Mini to premium: the data stays on the running node, which gains a standby and a sentinel.
        await tx.redis.hosts.lock(host.id);
        const [replica, sentinel] = await this.holdPorts(tx, host, addon.id, 2);
        nodePorts = [primaryPort, replica];
        sentinelPort = sentinel;
      } else if (!shape.highAvailability && current.nodePorts.length > 1) {
        // Premium to mini: the primary keeps the data; the standby and the sentinel go.
        nodePorts = [primaryPort];
        sentinelPort = null;
      }
      const patch: Partial<RedisInstance> = {
        nodePorts,
        primaryIndex: nodePorts.indexOf(primaryPort),
        sentinelPort,
        maxmemoryBytes: shape.maxmemoryBytes,
        maxclients: shape.maxclients,
        persistence: shape.persistence,
        highAvailability: shape.highAvailability,
        updatedAt: this.clock.now(),
      };
      await tx.redis.instances.update(addon.id, patch);
      const previous: Partial<RedisInstance> = {
        nodePorts: current.nodePorts,
        primaryIndex: current.nodePorts.indexOf(primaryPort),
        sentinelPort: current.sentinelPort,
        maxmemoryBytes: current.maxmemoryBytes,
        maxclients: current.maxclients,
        persistence: current.persistence,
        highAvailability: current.highAvailability,
      };
      return { instance: { ...current, ...patch }, host, previous: { ...current, ...previous } };
    });
    try {
      const spec = redisSpec(instance, host, this.box);
      // Live settings first (persistence on before a standby syncs from it), then the processes.
      await this.driver.configure(spec);
      await this.driver.ensure(spec);
    } catch (error) {
      // Back to the shape of the plan the add-on is still on: if this was the last attempt, the plan
      // change fails and supervision must not keep running (and the bill not mismatch) the new one.
      await this.revertShape(previous, host).catch(() => undefined);
      throw error;
    }
    // Whatever the add-on holds beyond what it now runs (also on a retry of this step).
    const inUse = new Set([...instance.nodePorts, ...(instance.sentinelPort !== null ? [instance.sentinelPort] : [])]);
    const released = (await this.store.redis.ports.heldBy(addon.id)).filter((port) => !inUse.has(port));
    if (released.length > 0) await this.store.redis.ports.release(addon.id, released);
    return { kind: 'changed', config: redisConfig(instance, host, this.box), message: null };
  }

  private async revertShape(previous: RedisInstance, host: RedisHost): Promise<void> {
    const { nodePorts, primaryIndex, sentinelPort, maxmemoryBytes, maxclients, persistence, highAvailability } = previous;
    const shape = { nodePorts, primaryIndex, sentinelPort, maxmemoryBytes, maxclients, persistence, highAvailability };
    const reverted = await this.store.transaction(async (tx) => {
      // Re-read: only the shape goes back; a password rotated meanwhile stays.
      const current = await tx.redis.instances.findByAddonForUpdate(previous.addonId);
      if (!current || current.state !== 'active') return null;
      await tx.redis.instances.update(previous.addonId, { ...shape, updatedAt: this.clock.now() });
      return { ...current, ...shape };
    });
    if (!reverted) return;
    const spec = redisSpec(reverted, host, this.box);
    await this.driver.configure(spec);
    await this.driver.ensure(spec);
    const inUse = new Set([...nodePorts, ...(sentinelPort !== null ? [sentinelPort] : [])]);
    const extra = (await this.store.redis.ports.heldBy(previous.addonId)).filter((port) => !inUse.has(port));
    if (extra.length > 0) await this.store.redis.ports.release(previous.addonId, extra);
  }

  async deprovision(request: { addon: Addon; service: AddonService }): Promise<DeprovisionOutcome> {
    const { addon } = request;
    const instance = await this.store.redis.instances.findByAddon(addon.id);
    if (instance && instance.state === 'active') {
      const host = (await this.store.redis.hosts.findById(instance.hostId))!;
      await this.driver.destroy(redisSpec(instance, host, this.box));
      await this.store.transaction(async (tx) => {
        // A claimed spare's failed setup may have moved the instance to a fresh key meanwhile:
        // that node goes too, before the record says destroyed (a crash leaves it to the retry).
        const current = await tx.redis.instances.findByAddonForUpdate(addon.id);
        if (current && current.key !== instance.key) await this.driver.destroy(redisSpec(current, host, this.box));
        const now = this.clock.now();
        await tx.redis.instances.update(addon.id, { state: 'destroyed', destroyedAt: now, pendingPasswordSealed: null, pendingSince: null, updatedAt: now });
        await tx.redis.ports.release(addon.id);
        // A spare the add-on claimed (a provision that failed after the claim) went with the instance.
        const spare = await tx.redis.spares.findClaimedBy(addon.id);
        if (spare) await tx.redis.spares.remove(spare.id);
      });
    }
    return { kind: 'deprovisioned' };
  }

  /**
   * The add-on's instance and host: found (a retry), or placed now on the least loaded host. A mini
   * claims one of the host's ready spares if it can (one round trip, the hosts locked as below);
   * otherwise, and for premium, new ports are held for a fresh start. The host stays locked from the count to the commit, so
   * concurrent placements count each other and never pick the same port.
   */
  private async place(addon: Addon, plan: Plan): Promise<Placement> {
    const shape = redisPlanShape(plan);
    const now = this.clock.now();
    const instance: RedisInstance = {
      addonId: addon.id,
      hostId: '',
      key: redisInstanceKey(addon.id),
      state: 'active',
      nodePorts: [],
      primaryIndex: 0,
      sentinelPort: null,
      passwordSealed: this.box.seal(randomToken(40)),
      pendingPasswordSealed: null,
      pendingSince: null,
      internalPasswordSealed: this.box.seal(randomToken(40)),
      maxmemoryBytes: shape.maxmemoryBytes,
      maxclients: shape.maxclients,
      persistence: shape.persistence,
      highAvailability: shape.highAvailability,
      maxmemoryPolicy: 'noeviction',
      timeoutSeconds: 0,
      lastFailoverAt: null,
      createdAt: now,
      updatedAt: now,
      destroyedAt: null,
    };
    // Spares are mini-shaped: premium plans start their nodes fresh. The claim is a transaction of
    // its own, one round trip with its COMMIT; without a spare (or on a retry) the placement below runs.
    if (!shape.highAvailability && !shape.persistence && this.spareOptions.sparesPerHost > 0) {
      const { claimed, hadInstance } = await this.store.redis.spares.claimForNewInstance(instance);
      if (claimed) return { ...claimed, onSpare: true };
      if (!hadInstance) this.logger.log({ addonId: addon.id }, 'no spare Redis node ready; starting a fresh one');
    }
    return this.store.transaction(async (tx) => {
      const [existing, leastLoaded] = await Promise.all([tx.redis.instances.findByAddon(addon.id), tx.redis.hosts.lockLeastLoaded()]);
      if (existing) {
        if (existing.state !== 'active') throw new ProviderRefusedError(`${addon.name}'s instance was already destroyed.`);
        const [host, spare] = await Promise.all([tx.redis.hosts.findById(existing.hostId), tx.redis.spares.findClaimedBy(addon.id)]);
        return { instance: existing, host: host!, onSpare: spare !== null && spare.key === existing.key };
      }
      if (!leastLoaded) throw new ProviderUnavailableError('No Redis host has room for another instance.');
      const ports = await this.holdPorts(tx, leastLoaded, addon.id, portsNeeded(shape.highAvailability));
      const placed = {
        ...instance,
        hostId: leastLoaded.id,
        nodePorts: shape.highAvailability ? ports.slice(0, 2) : ports.slice(0, 1),
        sentinelPort: shape.highAvailability ? ports[2] : null,
      };
      await tx.redis.instances.create(placed);
      return { instance: placed, host: leastLoaded, onSpare: false };
    });
  }

  /** The lowest free ports of the host, held for the add-on; the caller has locked the host. */
  private async holdPorts(tx: Store, host: RedisHost, addonId: string, count: number): Promise<number[]> {
    const chosen = await freeRedisPorts(tx, this.driver, host, count);
    await tx.redis.ports.hold(host.id, addonId, chosen);
    return chosen;
  }
}
