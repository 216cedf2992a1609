import { RedisInfo, RedisInstanceSpec, RedisSpareSpec } from './redis.models';

/**
 * Runs Redis instances on a host. Every method is idempotent: it looks at what runs and finishes
 * what an earlier, interrupted call began. A node is a redis-server with ACL users `app`
 * (the tenant, `default` disabled), `admin`, `replication` and `sentinel`; premium instances
 * have a second node replicating the primary and a sentinel watching them.
 */
export abstract class RedisDriver {
  /**
   * Makes the host run what `spec` describes: adopts nodes and sentinel that already run, starts
   * those that do not (a replica as replica of the current primary), and stops and removes
   * processes and files of the instance that the spec no longer has. A dead primary of an
   * instance with a sentinel is left to the sentinel's failover, not restarted in place.
   */
  abstract ensure(spec: RedisInstanceSpec): Promise<void>;

  /** Applies memory, clients, persistence, eviction policy and idle timeout to the running nodes, live. */
  abstract configure(spec: RedisInstanceSpec): Promise<void>;

  /** Lets the `app` user log in with `password` too, on every node; the passwords it had still work. */
  abstract addPassword(spec: RedisInstanceSpec, password: string): Promise<void>;

  /** Leaves `password` the `app` user's only one on every node, and closes the connections it has open. */
  abstract retireOtherPasswords(spec: RedisInstanceSpec, password: string): Promise<void>;

  /**
   * A cheap look, for supervision every second: every process of the instance runs and the
   * sentinel names the recorded primary. False means `ensure` (and a failover check) is due.
   */
  abstract isHealthy(spec: RedisInstanceSpec): Promise<boolean>;

  /** The index of the node the sentinel names as primary now; null without a sentinel or when it cannot tell. */
  abstract currentPrimary(spec: RedisInstanceSpec): Promise<number | null>;

  /** Asks the sentinel to promote the standby; resolves once it reports the new primary (or throws after a deadline). */
  abstract failover(spec: RedisInstanceSpec): Promise<number>;

  abstract info(spec: RedisInstanceSpec): Promise<RedisInfo>;

  /** Stops every process of the instance and removes its files; its ports are free afterwards. */
  abstract destroy(spec: Pick<RedisInstanceSpec, 'key' | 'host' | 'nodePorts' | 'sentinelPort'>): Promise<void>;

  /**
   * Makes the host run the spare node: adopts it if it runs, starts it (with Attache's users and no
   * `app` user) if not. The caller makes sure nobody claims it meanwhile.
   */
  abstract ensureSpare(spec: RedisSpareSpec): Promise<void>;

  /** A cheap look: the spare's process runs. */
  abstract isSpareHealthy(spec: RedisSpareSpec): Promise<boolean>;

  /**
   * Turns a claimed spare into the mini instance `spec` describes (the spare's key, port and
   * internal password): the `app` user with the instance's password, the plan's limits, saved to
   * its files. Idempotent. A spare that no longer runs is started as the instance instead; one that
   * runs but cannot be set up throws, and the caller discards it.
   */
  abstract claimSpare(spec: RedisInstanceSpec): Promise<void>;

  /** A port on the host that nothing listens on now. */
  abstract isPortFree(host: RedisInstanceSpec['host'], port: number): Promise<boolean>;
}
