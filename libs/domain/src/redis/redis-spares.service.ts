import { Injectable, Logger } from '@nestjs/common';
import { Clock, SecretBox, newId, randomToken } from '@app/common';
import { Store } from '../shared/store.port';
import { redisSpareKey } from './redis-config';
import { RedisDriver } from './redis-driver.port';
import { redisPlanShape } from './redis-plans';
import { freeRedisPorts } from './redis-ports';
import { RedisSpareOptions } from './redis-spare-options';
import { RedisHost, RedisSpare, RedisSpareSpec } from './redis.models';

/** Spares are mini-shaped: a claim by a mini changes nothing but the `app` user. */
const SPARE_SHAPE = redisPlanShape({ name: 'mini' });

export interface SpareUpkeep {
  started: number;
  restarted: number;
  discarded: number;
  forgotten: number;
}

/**
 * The pools of spare mini nodes, kept by the worker (the api never starts one). Every spare is
 * recorded, with its port held, before its process starts, and marked `discarding` before it
 * stops, so a crash at any point leaves a row that the next upkeep finishes: no orphan process,
 * no port lost. A spare is touched on disk only by whoever holds its row lock while it is
 * unclaimed (the upkeep), or by the add-on that claimed it (the claim commits first).
 */
@Injectable()
export class RedisSpares {
  private readonly logger = new Logger(RedisSpares.name);

  constructor(
    private readonly store: Store,
    private readonly driver: RedisDriver,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly options: RedisSpareOptions,
  ) {}

  /** What a driver needs to run the spare. */
  spec(spare: RedisSpare, host: RedisHost): RedisSpareSpec {
    return {
      key: spare.key,
      host: { id: host.id, name: host.name, address: host.address, dataDir: host.dataDir },
      port: spare.port,
      internalPassword: this.box.open(spare.internalPasswordSealed),
      maxmemoryBytes: SPARE_SHAPE.maxmemoryBytes,
      maxclients: SPARE_SHAPE.maxclients,
    };
  }

  /** How many unclaimed spares the host should keep: none on a draining host, never beyond its capacity. */
  target(host: RedisHost, activeInstances: number): number {
    if (host.state !== 'active') return 0;
    return Math.max(0, Math.min(this.options.sparesPerHost, host.capacity - activeInstances));
  }

  /**
   * One pass of upkeep (after a claim, and on every supervision sweep): claimed rows whose
   * provision has finished are forgotten, interrupted discards finished, dead spares restarted,
   * each host's pool topped up to its target, and spares beyond it stopped.
   */
  async maintain(): Promise<SpareUpkeep> {
    const result: SpareUpkeep = { started: 0, restarted: 0, discarded: 0, forgotten: 0 };
    const [hostList, spares, instances] = await Promise.all([this.store.redis.hosts.list(), this.store.redis.spares.list(), this.store.redis.hosts.countActiveInstances()]);
    const hosts = new Map(hostList.map((host) => [host.id, host]));

    for (const spare of spares) {
      const host = hosts.get(spare.hostId)!;
      if (spare.state === 'claimed') {
        // The instance owns the node now; the row only told a retried provision to finish the setup.
        const addon = await this.store.addons.findById(spare.addonId!);
        if (!addon || addon.state !== 'provisioning') {
          await this.store.redis.spares.remove(spare.id);
          result.forgotten++;
        }
      } else if (spare.state === 'discarding') {
        if (await this.attempt(spare, () => this.finishDiscard(spare, host))) result.discarded++;
      } else if (spare.state === 'starting' || !(await this.driver.isSpareHealthy(this.spec(spare, host)).catch(() => false))) {
        if (await this.attempt(spare, () => this.start(spare, host))) result.restarted++;
      }
    }

    for (const host of hostList) {
      // Most sweeps find every pool at its target: no lock taken then.
      const pool = spares.filter((s) => s.hostId === host.id && (s.state === 'starting' || s.state === 'ready')).length;
      if (pool === this.target(host, instances.get(host.id) ?? 0)) continue;
      for (;;) {
        const recorded = await this.attempt(null, () => this.recordOne(host));
        if (recorded === null) break;
        if (recorded === 'full') break;
        if (recorded === 'excess') {
          result.discarded++;
          continue;
        }
        if (await this.attempt(recorded, () => this.start(recorded, host))) result.started++;
        else break;
      }
    }
    return result;
  }

  /**
   * Under the host's lock, so concurrent upkeeps count each other: records one more spare when the
   * pool is short of its target (returned, to be started), or discards one when it has too many.
   */
  private async recordOne(host: RedisHost): Promise<RedisSpare | 'full' | 'excess'> {
    const outcome = await this.store.transaction(async (tx): Promise<RedisSpare | 'full' | RedisSpare[]> => {
      await tx.redis.hosts.lock(host.id);
      const [current, instances, spares] = await Promise.all([tx.redis.hosts.findById(host.id), tx.redis.hosts.countActiveInstances(), tx.redis.spares.list()]);
      if (!current) return 'full';
      const unclaimed = spares.filter((s) => s.hostId === host.id && (s.state === 'starting' || s.state === 'ready'));
      const target = this.target(current, instances.get(host.id) ?? 0);
      if (unclaimed.length > target) return unclaimed;
      if (unclaimed.length === target) return 'full';
      const [port] = await freeRedisPorts(tx, this.driver, current, 1);
      const now = this.clock.now();
      const id = newId();
      const spare: RedisSpare = {
        id,
        hostId: host.id,
        key: redisSpareKey(id),
        port,
        internalPasswordSealed: this.box.seal(randomToken(40)),
        state: 'starting',
        addonId: null,
        createdAt: now,
        updatedAt: now,
      };
      await tx.redis.spares.create(spare);
      return spare;
    });
    if (!Array.isArray(outcome)) return outcome;
    // The newest goes first: the oldest have been up longest and are known to be well.
    const extra = outcome.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
    await this.discard(extra, host);
    return 'excess';
  }

  /** Starts (or adopts) an unclaimed spare and marks it ready, holding its row so no claim takes it meanwhile. */
  private async start(spare: RedisSpare, host: RedisHost): Promise<boolean> {
    try {
      return await this.store.transaction(async (tx) => {
        const locked = await tx.redis.spares.lockUnclaimed(spare.id);
        if (!locked) return false;
        await this.driver.ensureSpare(this.spec(locked, host));
        if (locked.state === 'starting') await tx.redis.spares.markReady(locked.id, this.clock.now());
        return true;
      });
    } catch (error) {
      // A port another program took, a node that will not start: a new spare gets a new port.
      this.logger.warn({ spare: spare.key, err: (error as Error).message }, 'Redis spare did not start; discarding it');
      await this.discard(spare, host);
      throw error;
    }
  }

  /** Stops an unclaimed spare for good: marked first, so a crash midway is finished by the next upkeep. */
  async discard(spare: RedisSpare, host: RedisHost): Promise<boolean> {
    if (!(await this.store.redis.spares.markDiscarding(spare.id, this.clock.now()))) return false;
    await this.finishDiscard(spare, host);
    return true;
  }

  private async finishDiscard(spare: RedisSpare, host: RedisHost): Promise<void> {
    await this.driver.destroy({ key: spare.key, host: this.spec(spare, host).host, nodePorts: [spare.port], sentinelPort: null });
    await this.store.redis.spares.remove(spare.id);
  }

  private async attempt<T>(spare: RedisSpare | null, work: () => Promise<T>): Promise<T | null> {
    try {
      return await work();
    } catch (error) {
      this.logger.warn({ spare: spare?.key, err: (error as Error).message }, 'Redis spare upkeep step failed; will retry');
      return null;
    }
  }
}
