import { Injectable, Logger } from '@nestjs/common';
import { Clock, DomainError, InvalidInputError, SecretBox, randomToken } from '@app/common';
import { Store } from '../shared/store.port';
import { RedisAddon, RedisAddons } from './redis-addons';
import { RedisConfigPublisher, redisSpec, redisUrl } from './redis-config';
import { RedisDriver } from './redis-driver.port';
import { REDIS_MAXMEMORY_POLICIES, RedisHost, RedisInfo, RedisInstance, RedisMaxmemoryPolicy } from './redis.models';
import { FirstPartyUsage } from '../billing/first-party-usage';
import { firstPartyServiceId } from '../catalog/first-party-catalog';

/** A rotation pending longer than this was interrupted. */
const REPAIR_AFTER_MS = 60_000;

/** A node that cannot be reached is the service being unavailable (503), not Attache failing (500). */
async function unavailableOnFailure<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw new DomainError('unavailable', 'redis_unavailable', `The Redis instance did not answer (${(error as Error).message}); try again shortly.`);
  }
}
const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
/** Longest wait before supervision tries an instance that keeps failing again. */
const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * What a developer does with a Redis add-on besides the lifecycle: info, settings, credential
 * rotation and manual failover; and the supervision the worker runs.
 */
@Injectable()
export class RedisOperationsUseCase {
  private readonly logger = new Logger(RedisOperationsUseCase.name);
  /** Supervision failures per add-on in this process, and when to try again. */
  private readonly backoff = new Map<string, { failures: number; nextAt: number }>();

  constructor(
    private readonly store: Store,
    private readonly addons: RedisAddons,
    private readonly driver: RedisDriver,
    private readonly publisher: RedisConfigPublisher,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly usage: FirstPartyUsage,
  ) {}

  /** The usage period each instance's memory was last recorded for, in this process. */
  private readonly memoryRecorded = new Map<string, number>();

  async info(accountId: string, addonRef: string): Promise<{ target: RedisAddon; info: RedisInfo }> {
    const target = await this.addons.viewable(accountId, addonRef);
    return { target, info: await unavailableOnFailure(() => this.driver.info(redisSpec(target.instance, target.host, this.box))) };
  }

  /** `maxmemory-policy` and the idle `timeout`, applied live and kept across restarts. */
  async configure(accountId: string, addonRef: string, input: { maxmemoryPolicy?: string | null; timeoutSeconds?: number | null }): Promise<RedisAddon> {
    const target = await this.addons.manageable(accountId, addonRef);
    const patch: Partial<RedisInstance> = {};
    if (input.maxmemoryPolicy !== undefined && input.maxmemoryPolicy !== null) {
      if (!(REDIS_MAXMEMORY_POLICIES as readonly string[]).includes(input.maxmemoryPolicy)) {
        throw new InvalidInputError(`maxmemory_policy must be one of ${REDIS_MAXMEMORY_POLICIES.join(', ')}.`);
      }
      patch.maxmemoryPolicy = input.maxmemoryPolicy as RedisMaxmemoryPolicy;
    }
    if (input.timeoutSeconds !== undefined && input.timeoutSeconds !== null) {
      if (!Number.isInteger(input.timeoutSeconds) || input.timeoutSeconds < 0 || input.timeoutSeconds > MAX_TIMEOUT_SECONDS) {
        throw new InvalidInputError(`timeout is whole seconds from 0 (never) to ${MAX_TIMEOUT_SECONDS}.`);
      }
      patch.timeoutSeconds = input.timeoutSeconds;
    }
    if (Object.keys(patch).length === 0) throw new InvalidInputError('Pass maxmemory_policy or timeout.');
    return this.store.transaction(async (tx) => {
      const locked = await this.addons.locked(tx, target.addon.id);
      if (!locked) throw new InvalidInputError(`${target.addon.name} is being destroyed; its settings cannot change now.`, 'addon_not_ready');
      const instance = { ...locked.instance, ...patch, updatedAt: this.clock.now() };
      await tx.redis.instances.update(target.addon.id, { ...patch, updatedAt: instance.updatedAt });
      // Under the lock, so two changes reach the nodes in the order they are recorded.
      await unavailableOnFailure(() => this.driver.configure(redisSpec(instance, locked.host, this.box)));
      return { ...locked, instance };
    });
  }

  /** The URL with its password (billing-app members only). */
  async credentials(accountId: string, addonRef: string): Promise<{ target: RedisAddon; url: string }> {
    const target = await this.addons.manageable(accountId, addonRef);
    const { instance, host } = target;
    return { target, url: redisUrl(host.address, instance.nodePorts[instance.primaryIndex], this.box.open(instance.passwordSealed)) };
  }

  /** A new password: the old one fails, its connections are closed, every attached app gets the new URL in one release. */
  async rotate(accountId: string, addonRef: string): Promise<RedisAddon> {
    const target = await this.addons.manageable(accountId, addonRef);
    await this.store.transaction(async (tx) => {
      await this.addons.locked(tx, target.addon.id);
      await tx.redis.instances.update(target.addon.id, { pendingPasswordSealed: this.box.seal(randomToken(40)), pendingSince: this.clock.now() });
    });
    const finished = await this.finishRotation(target.addon.id);
    if (!finished) throw new InvalidInputError(`${target.addon.name} is being destroyed; its password cannot change now.`, 'addon_not_ready');
    return finished;
  }

  /** Promotes the standby of a premium instance; the URL on every attached app follows. */
  async failover(accountId: string, addonRef: string): Promise<RedisAddon> {
    const target = await this.addons.manageable(accountId, addonRef);
    if (!target.instance.highAvailability) {
      throw new InvalidInputError(`${target.addon.name} is on redis:${target.plan.name}, which has no standby; failover needs a premium plan.`, 'no_standby');
    }
    const primary = await unavailableOnFailure(() => this.driver.failover(redisSpec(target.instance, target.host, this.box)));
    return (await this.followPrimary(target.addon.id, primary)) ?? target;
  }

  /**
   * The worker's supervision run: every instance runs as recorded (crashed nodes restarted,
   * running ones adopted), a failover the sentinel made is followed by the apps' URLs, and
   * interrupted rotations are finished.
   */
  async supervise(): Promise<{ checked: number; failovers: number; rotations: number }> {
    const result = { checked: 0, failovers: 0, rotations: 0 };
    const olderThan = new Date(this.clock.now().getTime() - REPAIR_AFTER_MS);
    for (const pending of await this.store.redis.instances.listPendingRotation(olderThan, 100)) {
      if (await this.attempt(pending.addonId, () => this.finishRotation(pending.addonId))) result.rotations++;
    }
    const now = this.clock.now().getTime();
    const hosts = new Map((await this.store.redis.hosts.list()).map((host) => [host.id, host]));
    for (const instance of await this.store.redis.instances.listActive()) {
      const { addonId } = instance;
      // An instance that keeps failing (a port another program took, say) must not hold up the rest.
      if ((this.backoff.get(addonId)?.nextAt ?? 0) > now) continue;
      // Most instances are fine most of the time: a look at their processes, without locks, says so.
      const host = hosts.get(instance.hostId);
      if (host && (await this.driver.isHealthy(redisSpec(instance, host, this.box)).catch(() => false))) {
        this.backoff.delete(addonId);
        result.checked++;
        await this.recordMemory(instance, host);
        continue;
      }
      // Each instance with its add-on locked and re-read, so a run never acts on a spec that a
      // destroy, a rotation or a plan change has since replaced.
      const checked = await this.attempt(addonId, () =>
        this.store.transaction(async (tx) => {
          const locked = await this.addons.locked(tx, addonId);
          if (!locked) return false;
          let { instance } = locked;
          if (instance.sentinelPort !== null) {
            const primary = await this.driver.currentPrimary(redisSpec(instance, locked.host, this.box));
            if (primary !== null && primary !== instance.primaryIndex) {
              instance = await this.recordFailover(tx, locked, primary);
              result.failovers++;
            }
          }
          await this.driver.ensure(redisSpec(instance, locked.host, this.box));
          return true;
        }),
      );
      if (checked === null) {
        const failures = (this.backoff.get(addonId)?.failures ?? 0) + 1;
        this.backoff.set(addonId, { failures, nextAt: now + Math.min(2 ** failures * 1_000, MAX_BACKOFF_MS) });
      } else {
        this.backoff.delete(addonId);
        if (checked) result.checked++;
      }
    }
    return result;
  }

  /** Once per usage period, the memory the instance holds (first-party metering, docs/billing.md). */
  private async recordMemory(instance: RedisInstance, host: RedisHost): Promise<void> {
    const now = this.clock.now();
    const period = this.usage.periodOf(now).getTime();
    if (this.memoryRecorded.get(instance.addonId) === period) return;
    try {
      const info = await this.driver.info(redisSpec(instance, host, this.box));
      await this.usage.recordSize(firstPartyServiceId('redis'), instance.addonId, 'memory_mb_hours', info.usedMemoryBytes, now);
      this.memoryRecorded.set(instance.addonId, period);
    } catch {
      // The next supervision run measures again.
    }
  }

  /** Records the node the sentinel promoted and publishes its URL, once. */
  private followPrimary(addonId: string, primaryIndex: number): Promise<RedisAddon | null> {
    return this.store.transaction(async (tx) => {
      const locked = await this.addons.locked(tx, addonId);
      if (!locked || locked.instance.primaryIndex === primaryIndex) return locked;
      return { ...locked, instance: await this.recordFailover(tx, locked, primaryIndex) };
    });
  }

  private async recordFailover(tx: Store, locked: RedisAddon, primaryIndex: number): Promise<RedisInstance> {
    const now = this.clock.now();
    const instance = { ...locked.instance, primaryIndex, lastFailoverAt: now, updatedAt: now };
    await tx.redis.instances.update(locked.addon.id, { primaryIndex, lastFailoverAt: now, updatedAt: now });
    await this.publisher.publish(tx, locked.addon, locked.service, instance, locked.host, `Failover of ${locked.addon.name}`, now);
    await tx.events.append({
      type: 'addon.failover',
      addonId: locked.addon.id,
      appId: locked.addon.appId,
      occurredAt: now,
      data: { from_port: locked.instance.nodePorts[locked.instance.primaryIndex], to_port: instance.nodePorts[primaryIndex] },
    });
    this.logger.log({ addonId: locked.addon.id, port: instance.nodePorts[primaryIndex] }, 'followed a Redis failover');
    return instance;
  }

  /** Applies the pending password on the nodes and publishes it, with the add-on locked. Null if it is not provisioned. */
  private finishRotation(addonId: string): Promise<RedisAddon | null> {
    return this.store.transaction(async (tx) => {
      const locked = await this.addons.locked(tx, addonId);
      if (!locked || !locked.instance.pendingPasswordSealed) return locked;
      const password = this.box.open(locked.instance.pendingPasswordSealed);
      const spec = redisSpec(locked.instance, locked.host, this.box, password);
      // Both passwords work until the new URL is written; a failure before then leaves apps working.
      await this.driver.addPassword(spec, password);
      const now = this.clock.now();
      const patch = { passwordSealed: locked.instance.pendingPasswordSealed, pendingPasswordSealed: null, pendingSince: null, updatedAt: now };
      const instance = { ...locked.instance, ...patch };
      await tx.redis.instances.update(addonId, patch);
      await this.publisher.publish(tx, locked.addon, locked.service, instance, locked.host, `Rotate the password of ${locked.addon.name}`, now);
      await tx.events.append({ type: 'addon.credentials_rotated', addonId, appId: locked.addon.appId, occurredAt: now, data: {} });
      await this.driver.retireOtherPasswords(spec, password);
      return { ...locked, instance };
    });
  }

  private async attempt<T>(addonId: string, work: () => Promise<T>): Promise<T | null> {
    try {
      return await work();
    } catch (error) {
      this.logger.warn({ addonId, err: (error as Error).message }, 'Redis supervision step failed; will retry');
      return null;
    }
  }
}
